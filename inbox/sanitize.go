package inbox

import (
	"regexp"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// htmlPolicy is stricter than bluemonday's UGCPolicy: nothing is loaded
// from anywhere when the HTML is shown. Images keep only data: sources,
// links only http, https and mailto hrefs (with rel="nofollow noreferrer
// noopener" and target="_blank"), styles only a few properties whose
// values cannot hold url(); scripts, frames, objects, forms, event
// handlers, ids and classes are dropped. It is safe for concurrent use.
var htmlPolicy = newHTMLPolicy()

// What the policy lets through: inline images, web and mail links, and
// language tags.
var (
	dataImage = regexp.MustCompile(`^data:image/(gif|jpeg|png|webp);base64,[A-Za-z0-9+/=\s]*$`)
	webHref   = regexp.MustCompile(`(?i)^\s*(https?|mailto):`)
	langTag   = regexp.MustCompile(`^[a-zA-Z]{2,8}(-[a-zA-Z0-9]{1,8}){0,4}$`)
)

// newHTMLPolicy builds htmlPolicy from bluemonday's NewPolicy, element by
// element, rather than from UGCPolicy, whose img src admits any URL.
func newHTMLPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowStandardURLs()
	p.AllowRelativeURLs(false)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.AllowDataURIImages()

	p.AllowAttrs("dir").Matching(bluemonday.Direction).Globally()
	p.AllowAttrs("lang").Matching(langTag).Globally()
	p.AllowAttrs("title").Matching(bluemonday.Paragraph).Globally()
	p.AllowStyles("color", "background-color", "font-size", "font-weight", "font-style",
		"font-family", "text-align", "text-decoration", "line-height", "letter-spacing",
		"padding").Globally()

	p.AllowElements("article", "aside", "figure", "figcaption", "section", "summary",
		"h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "br", "div", "hr", "p", "span",
		"wbr", "blockquote", "center", "abbr", "acronym", "cite", "code", "dfn", "em",
		"mark", "s", "samp", "strong", "sub", "sup", "var", "b", "i", "pre", "small",
		"strike", "tt", "u")
	p.AllowAttrs("href").Matching(webHref).OnElements("a")
	p.AllowLists()
	p.AllowTables()
	p.AllowAttrs("src").Matching(dataImage).OnElements("img")
	p.AllowAttrs("alt").Matching(bluemonday.Paragraph).OnElements("img")
	p.AllowAttrs("height", "width").Matching(bluemonday.NumberOrPercent).OnElements("img")
	return p
}

// shownHTML is a stored HTML body as a reader may see it: sanitized by
// htmlPolicy, at most maxHTML bytes. It is idempotent, so a body stored
// sanitized (as the first deliveries were) reads the same.
func shownHTML(stored string) string {
	if stored == "" {
		return ""
	}
	out, _ := sanitizeHTML(stored)
	return strings.TrimSpace(out)
}

// sanitizeHTML applies htmlPolicy and bounds the result to maxHTML bytes,
// cut before a tag so that no tag is left half written.
func sanitizeHTML(raw string) (string, bool) {
	raw = strings.ReplaceAll(strings.ToValidUTF8(raw, "\uFFFD"), "\x00", "")
	out := htmlPolicy.Sanitize(raw)
	if len(out) <= maxHTML {
		return strings.ToValidUTF8(out, "\uFFFD"), false
	}
	cut := strings.LastIndexByte(out[:maxHTML], '<')
	if cut < 0 {
		return truncateUTF8(out, maxHTML), true
	}
	return strings.ToValidUTF8(out[:cut], "\uFFFD"), true
}
