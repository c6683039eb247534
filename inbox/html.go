package inbox

import (
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// htmlDoc is the text of an HTML body, with where it was emphasized and
// the links it holds.
type htmlDoc struct {
	text     string
	emphasis []span // byte ranges of text, in order
	anchors  []anchor
}

// span is a byte range [start, end) of a text.
type span struct{ start, end int }

// anchor is an <a href> of an HTML body and the text it shows.
type anchor struct {
	href, text string
}

// emphasized reports whether the range [start, end) of d.text lies in an
// emphasized run (bold, a heading, a large font).
func (d htmlDoc) emphasized(start, end int) bool {
	i := sort.Search(len(d.emphasis), func(i int) bool { return d.emphasis[i].end >= end })
	return i < len(d.emphasis) && d.emphasis[i].start <= start
}

// Bounds of the rendering: open elements tracked, emphasized runs and
// anchors kept, and the text kept of each anchor.
const (
	maxOpen       = 512
	maxSpans      = 2000
	maxAnchors    = 500
	maxAnchorText = 200
)

// frame is an open element while rendering.
type frame struct {
	tag        string
	emph, pre  bool
	isAnchor   bool
	breakAfter int
}

// renderer turns HTML into text: block elements become line breaks, table
// cells spaces, runs of white space one space, entities characters.
type renderer struct {
	b    strings.Builder
	doc  htmlDoc
	open []frame
	// opened counts the open elements of each name, so that an end tag
	// with none open costs nothing.
	opened map[string]int
	emph   int
	pre    int
	space  bool
	// inAnchor says whether the last of doc.anchors is open, its text
	// being written to anchorText.
	inAnchor   bool
	anchorText strings.Builder
}

// unshown are the elements whose content a reader never sees: the
// sanitizer (bluemonday's default) drops them with their content, so the
// rendering skips them too.
var unshown = map[string]bool{"frame": true, "frameset": true, "iframe": true, "noembed": true, "noframes": true,
	"noscript": true, "nostyle": true, "object": true, "script": true, "style": true, "title": true}

// renderHTML renders an HTML body, as sent, as text of at most maxText
// bytes, leaving out the unshown elements and their content.
func renderHTML(s string) htmlDoc {
	var r renderer
	z := html.NewTokenizer(strings.NewReader(s))
	skip, depth := "", 0 // the unshown element being skipped, and how deep
	for {
		tt := z.Next()
		var name []byte
		if tt == html.StartTagToken || tt == html.EndTagToken || tt == html.SelfClosingTagToken {
			name, _ = z.TagName() // once: the tokenizer hands a token's name out once
		}
		if skip != "" && tt != html.ErrorToken {
			if string(name) == skip {
				switch tt {
				case html.StartTagToken:
					depth++
				case html.EndTagToken:
					if depth--; depth == 0 {
						skip = ""
					}
				}
			}
			continue
		}
		switch tt {
		case html.ErrorToken:
			r.closeAnchor()
			r.doc.text = strings.TrimRight(r.b.String(), " \n")
			return r.doc
		case html.TextToken:
			r.write(string(z.Text()))
		case html.StartTagToken:
			if unshown[string(name)] {
				skip, depth = string(name), 1
				continue
			}
			r.start(z, string(name), true)
		case html.SelfClosingTagToken:
			r.start(z, string(name), false)
		case html.EndTagToken:
			r.end(string(name))
		}
		if r.b.Len() >= maxText {
			r.closeAnchor()
			r.doc.text = truncateUTF8(r.b.String(), maxText)
			return r.doc
		}
	}
}

// breaks is how many line ends a block element puts around itself.
func breaks(tag string) int {
	switch tag {
	case "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol", "pre", "hr":
		return 2
	case "div", "br", "tr", "li", "dt", "dd", "section", "article", "aside", "figure",
		"figcaption", "center", "hgroup", "summary", "caption", "thead", "tbody", "tfoot", "dl":
		return 1
	}
	return 0
}

// start opens element tag, its attributes read from z.
func (r *renderer) start(z *html.Tokenizer, tag string, open bool) {
	var href, style string
	for more := true; more; {
		var k, v []byte
		k, v, more = z.TagAttr()
		switch string(k) {
		case "href":
			href = string(v)
		case "style":
			style = string(v)
		}
	}
	r.newline(breaks(tag))
	if tag == "td" || tag == "th" {
		r.space = true
	}
	f := frame{tag: tag, breakAfter: breaks(tag)}
	if tag == "a" {
		r.closeAnchor()
		if href != "" && len(r.doc.anchors) < maxAnchors {
			r.doc.anchors = append(r.doc.anchors, anchor{href: href})
			r.inAnchor, f.isAnchor = open, true
		}
	}
	if !open || tag == "br" || tag == "hr" || tag == "img" || tag == "wbr" || len(r.open) >= maxOpen {
		return
	}
	f.emph = emphatic(tag, style)
	f.pre = tag == "pre"
	r.push(f)
}

func (r *renderer) push(f frame) {
	if r.opened == nil {
		r.opened = make(map[string]int)
	}
	r.opened[f.tag]++
	if f.emph {
		r.emph++
	}
	if f.pre {
		r.pre++
	}
	r.open = append(r.open, f)
}

// end closes the innermost open element of that name and those inside it;
// an end tag with no open element is ignored.
func (r *renderer) end(tag string) {
	if r.opened[tag] == 0 {
		return
	}
	for i := len(r.open) - 1; i >= 0; i-- {
		if r.open[i].tag != tag {
			continue
		}
		for j := len(r.open) - 1; j >= i; j-- {
			f := r.open[j]
			r.opened[f.tag]--
			if f.emph {
				r.emph--
			}
			if f.pre {
				r.pre--
			}
			if f.isAnchor {
				r.closeAnchor()
			}
			r.newline(f.breakAfter)
		}
		r.open = r.open[:i]
		return
	}
}

// newline ends the current line, leaving at most n line ends in a row.
func (r *renderer) newline(n int) {
	if n == 0 || r.b.Len() == 0 {
		return
	}
	r.space = false
	s := r.b.String()
	have := 0
	for have < n && have < len(s) && s[len(s)-1-have] == '\n' {
		have++
	}
	for ; have < n; have++ {
		r.b.WriteByte('\n')
	}
}

// write adds text, white space collapsed (outside <pre>), and records the
// emphasized runs and the text of the open anchor.
func (r *renderer) write(text string) {
	start := -1
	for _, c := range text {
		if r.pre == 0 && (unicode.IsSpace(c) || c == '\u200b' || c == '\u200c' || c == '\ufeff') {
			r.space = true
			continue
		}
		if c == 0 {
			continue
		}
		if r.space && r.b.Len() > 0 && !strings.HasSuffix(r.b.String(), "\n") {
			r.b.WriteByte(' ')
			if r.anchorText.Len() > 0 {
				r.writeAnchor(' ')
			}
		}
		r.space = false
		if start < 0 {
			start = r.b.Len()
		}
		r.b.WriteRune(c)
		r.writeAnchor(c)
	}
	if start >= 0 && r.emph > 0 {
		r.mark(span{start, r.b.Len()})
	}
}

// writeAnchor adds a character to the text of the open anchor, if any.
func (r *renderer) writeAnchor(c rune) {
	if r.inAnchor && r.anchorText.Len() < maxAnchorText {
		r.anchorText.WriteRune(c)
	}
}

// closeAnchor ends the open anchor, keeping its text.
func (r *renderer) closeAnchor() {
	if r.inAnchor {
		r.doc.anchors[len(r.doc.anchors)-1].text = strings.TrimSpace(r.anchorText.String())
		r.anchorText.Reset()
		r.inAnchor = false
	}
}

// mark records an emphasized run, joined to the previous one when only a
// space lies between them.
func (r *renderer) mark(s span) {
	if n := len(r.doc.emphasis); n > 0 && r.doc.emphasis[n-1].end+1 >= s.start {
		r.doc.emphasis[n-1].end = s.end
		return
	}
	if len(r.doc.emphasis) < maxSpans {
		r.doc.emphasis = append(r.doc.emphasis, s)
	}
}

// emphatic reports whether an element shows its text emphasized: bold, a
// heading, or a large, heavy or letter-spaced font.
func emphatic(tag, style string) bool {
	switch tag {
	case "b", "strong", "h1", "h2", "h3":
		return true
	}
	for _, decl := range strings.Split(strings.ToLower(style), ";") {
		prop, val, _ := strings.Cut(decl, ":")
		prop, val = strings.TrimSpace(prop), strings.TrimSpace(val)
		switch prop {
		case "font-weight":
			if val == "bold" || val == "bolder" || numberAtLeast(val, "", 600) {
				return true
			}
		case "font-size":
			if val == "large" || val == "x-large" || val == "xx-large" || val == "larger" ||
				numberAtLeast(val, "px", 20) || numberAtLeast(val, "pt", 15) ||
				numberAtLeast(val, "em", 1.4) || numberAtLeast(val, "rem", 1.4) ||
				numberAtLeast(val, "%", 140) {
				return true
			}
		case "letter-spacing":
			if numberAtLeast(val, "px", 2) || numberAtLeast(val, "em", 0.1) || numberAtLeast(val, "pt", 2) {
				return true
			}
		}
	}
	return false
}

// numberAtLeast reports whether val is a number with that unit and at least min.
func numberAtLeast(val, unit string, min float64) bool {
	num, ok := strings.CutSuffix(val, unit)
	if !ok || num == "" || !utf8.ValidString(num) {
		return false
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	return err == nil && f >= min
}
