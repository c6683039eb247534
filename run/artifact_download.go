package run

import (
	"net/http"
	"strconv"
)

// SetDownloadHeaders sets the headers of a download of art on h: the
// type it is served as (ServedContentType), always an attachment with its
// name (AttachmentDisposition), never sniffed, sandboxed should a browser
// render it anyway, its length, its SHA-256 as its ETag, and not to be
// cached. The REST download and the console's send the same headers
// through it, so an uploaded page can run in neither's origin.
func SetDownloadHeaders(h http.Header, art Artifact) {
	h.Set("Content-Type", ServedContentType(art.ContentType))
	h.Set("Content-Disposition", AttachmentDisposition(art.Name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox")
	h.Set("Content-Length", strconv.FormatInt(art.Size, 10))
	h.Set("ETag", `"`+art.SHA256+`"`)
	h.Set("Cache-Control", "no-store")
}
