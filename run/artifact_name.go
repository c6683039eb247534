package run

import (
	"fmt"
	"maps"
	"mime"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/understudy-dev/understudy"
)

// MaxArtifactName is the longest artifact name, in bytes.
const MaxArtifactName = 200

// ValidateArtifactName checks that name is one file name that cannot
// escape its run, wherever it ends up (a storage key, a path on disk, a
// download's file name): 1 to 200 bytes of UTF-8, not . or .., no / or \,
// no control character, and no bidirectional control (which could make
// "gpj.exe" read as "exe.jpg"). Errors: EMALFORMED naming the field name
// and what is wrong.
func ValidateArtifactName(name string) error {
	if d := artifactNameProblem(name); d != "" {
		return &understudy.Error{Code: understudy.EMALFORMED, Message: "invalid artifact name",
			Fields: []understudy.FieldError{{Field: "name", Detail: d}}}
	}
	return nil
}

// artifactNameProblem says what is wrong with name, or "".
func artifactNameProblem(name string) string {
	switch {
	case name == "":
		return fmt.Sprintf("must be 1 to %d bytes; it is empty", MaxArtifactName)
	case len(name) > MaxArtifactName:
		return fmt.Sprintf("must be 1 to %d bytes; it is %d", MaxArtifactName, len(name))
	case !utf8.ValidString(name):
		return "holds bytes that are not UTF-8"
	case name == "." || name == "..":
		return "must not be . or .., which name folders, not files"
	}
	for i, r := range name {
		switch {
		case r == '/' || r == '\\':
			return fmt.Sprintf("must not hold %c (at byte %d): an artifact name is one file name, not a path", r, i)
		case unicode.IsControl(r):
			return fmt.Sprintf("must not hold a control character (%U at byte %d)", r, i)
		case unicode.Is(unicode.Bidi_Control, r):
			return fmt.Sprintf("must not hold a bidirectional control character (%U at byte %d)", r, i)
		}
	}
	return ""
}

// DefaultContentType is the content type of an upload that names none (or
// one that cannot be read), and of every download whose type is not in
// inertTypes.
const DefaultContentType = "application/octet-stream"

// inertTypes are the content types an artifact is served with as they
// were uploaded: none of them is run as a page by a browser (no HTML, SVG,
// XML, JavaScript or PDF), so an artifact cannot act in the console's
// origin whatever its bytes are. Text is served as UTF-8.
var inertTypes = map[string]string{
	"image/png":        "image/png",
	"image/jpeg":       "image/jpeg",
	"image/gif":        "image/gif",
	"image/webp":       "image/webp",
	"video/webm":       "video/webm",
	"video/mp4":        "video/mp4",
	"text/plain":       "text/plain; charset=utf-8",
	"application/json": "application/json",
	"application/zip":  "application/zip",
	"application/gzip": "application/gzip",
}

// InertContentTypes lists, sorted, the media types an artifact may be
// downloaded as besides DefaultContentType.
func InertContentTypes() []string {
	return slices.Sorted(maps.Keys(inertTypes))
}

// NormalizeContentType returns the media type of a Content-Type header,
// lower case and without its parameters, or DefaultContentType when there
// is none or it cannot be read.
func NormalizeContentType(header string) string {
	mt, _, err := mime.ParseMediaType(header)
	if err != nil || mt == "" || len(mt) > 127 || !strings.Contains(mt, "/") {
		return DefaultContentType
	}
	return mt
}

// ServedContentType is the Content-Type an artifact of content type ct is
// downloaded with: ct when it is inert (see inertTypes), else
// DefaultContentType.
func ServedContentType(ct string) string {
	if t, ok := inertTypes[NormalizeContentType(ct)]; ok {
		return t
	}
	return DefaultContentType
}

// AttachmentDisposition is the Content-Disposition of a download of the
// artifact name (RFC 6266): attachment, with an ASCII filename for old
// clients (each other byte becomes _) and the exact name in filename*,
// percent-encoded UTF-8 (RFC 8187, formerly RFC 5987).
func AttachmentDisposition(name string) string {
	var ascii, ext strings.Builder
	for _, r := range name {
		switch {
		case r < 0x80 && isAttrChar(byte(r)):
			ascii.WriteRune(r)
		case r == ' ' || r == '(' || r == ')' || r == ',' || r == ';' || r == '=' || r == '@' || r == '[' || r == ']':
			ascii.WriteRune(r)
		default:
			ascii.WriteByte('_')
		}
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; isAttrChar(c) {
			ext.WriteByte(c)
		} else {
			fmt.Fprintf(&ext, "%%%02X", c)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + ext.String()
}

// isAttrChar reports whether c is an attr-char of RFC 8187 (section 3.2.1):
// a letter, a digit, or one of !#$&+-.^_`|~.
func isAttrChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$&+-.^_`|~", c) >= 0
}
