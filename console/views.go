package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/run"
	"github.com/understudy-dev/understudy/snapshot"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/*.js static/*.css static/*.svg
var staticFS embed.FS

// htmxFile is the vendored htmx (static/README.md says where it came
// from); its version is in its name, so it can be cached for good.
const htmxFile = "htmx-2.0.11.min.js"

// views holds the parsed templates: one set per page (the layout, the
// shared parts and the page), and the shared parts alone for fragments.
type views struct {
	base  *template.Template
	pages map[string]*template.Template
}

// newViews parses the templates; their times are told relative to now.
func newViews(now func() time.Time) (*views, error) {
	helpers := maps.Clone(funcs)
	helpers["ago"] = func(t any) template.HTML { return ago(now(), t) }
	base, err := template.New("base").Funcs(helpers).ParseFS(templateFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{base: base, pages: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "parts" {
			continue
		}
		t, err := template.Must(base.Clone()).ParseFS(templateFS, f)
		if err != nil {
			return nil, err
		}
		v.pages[name] = t
	}
	return v, nil
}

// execute writes page name in the layout, or the fragment name (a
// template of parts.html) alone.
func (v *views) execute(w io.Writer, name string, p *page) error {
	if t, ok := v.pages[name]; ok {
		return t.ExecuteTemplate(w, "layout", p)
	}
	return v.base.ExecuteTemplate(w, name, p)
}

// funcs are the templates' helpers, but for "ago", which newViews binds
// to the console's clock.
var funcs = template.FuncMap{
	"status":  statusBadge,
	"short":   func(h string) string { return h[:min(12, len(h))] },
	"ms":      func(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) + " ms" },
	"asset":   assetURL,
	"htmx":    func() string { return Prefix + "static/" + htmxFile },
	"link":    link,
	"add":     func(a, b int) int { return a + b },
	"diffval": diffValue,
	"changeRows": func(changes []snapshot.Change, before, after string) changeRows {
		return changeRows{changes, before, after}
	},
	"auth":    authBadge,
	"outcome": func(o run.Outcome) template.HTML { return statusBadge(outcomeName(o)) },
	"flow":    flowName,
	"web":     webURL,
	"seg":     url.PathEscape,
	"dur":     seconds,
	"bytes":   byteSize,
}

// seconds renders a run's duration in seconds (nil: none yet) as the
// console shows times taken: 850 ms, 42.1 s, 3m 05s, 2h 10m.
func seconds(s *float64) string {
	if s == nil {
		return "–"
	}
	d := time.Duration(*s * float64(time.Second))
	switch {
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	}
	return fmt.Sprintf("%dh %02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// byteSize renders a size in bytes, KiB or MiB.
func byteSize(n int64) string {
	switch {
	case n < 1<<10:
		return strconv.FormatInt(n, 10) + " B"
	case n < 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// authGlyph gives each sender check result a shape and a colour class:
// pass is good, fail and permerror bad, the rest a warning.
var authGlyph = map[string][2]string{
	"pass": {"✓", "ok"}, "fail": {"✕", "failed"}, "permerror": {"✕", "failed"},
	"softfail": {"!", "unknown"}, "neutral": {"!", "unknown"}, "temperror": {"!", "unknown"},
}

// authBadge renders the result of a sender check (SPF, DKIM, DMARC) as
// text, colour and a shape; none, or no result, is muted.
func authBadge(result string) template.HTML {
	g, ok := authGlyph[result]
	if !ok {
		g = [2]string{"–", "retired"}
	}
	if result == "" {
		result = "none"
	}
	return template.HTML(fmt.Sprintf(`<span class="badge badge-%s"><span aria-hidden="true">%s</span> %s</span>`,
		g[1], g[0], template.HTMLEscapeString(result)))
}

// diffValueWidth is how many characters of a value the comparison with the
// baseline shows, as the CLI's snapshot diff does.
const diffValueWidth = 60

// diffValue renders a value of a change as compact JSON, cut to
// diffValueWidth characters.
func diffValue(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	r := []rune(string(b))
	if len(r) > diffValueWidth {
		return string(r[:diffValueWidth-1]) + "…"
	}
	return string(r)
}

// ago renders t as a relative time from now, with the exact time on hover
// and in the datetime attribute. The zero time (and nil) is "never".
func ago(now time.Time, t any) template.HTML {
	var at time.Time
	switch x := t.(type) {
	case time.Time:
		at = x
	case *time.Time:
		if x != nil {
			at = *x
		}
	}
	if at.IsZero() {
		return "never"
	}
	exact := at.UTC().Format("2006-01-02 15:04:05 UTC")
	return template.HTML(fmt.Sprintf(`<time datetime="%s" title="%s">%s</time>`,
		at.UTC().Format(time.RFC3339), exact, template.HTMLEscapeString(since(now, at))))
}

// changeRows is what the template change-rows lists: changes, with the
// labels of their value columns.
type changeRows struct {
	Changes       []snapshot.Change
	Before, After string
}

// statusGlyph gives each account status a shape, so that its colour is
// never the only signal.
var statusGlyph = map[accounts.Status]string{
	accounts.StatusReady: "✓", accounts.StatusLeased: "◆", accounts.StatusCapturing: "◉", accounts.StatusFailed: "✕",
	accounts.StatusRetired: "–", accounts.StatusPending: "…", accounts.StatusProvisioning: "↻",
}

// statusBadge renders a status as text, colour and a shape.
func statusBadge(st any) template.HTML {
	s := fmt.Sprint(st)
	glyph := statusGlyph[accounts.Status(s)]
	if glyph == "" {
		glyph = map[string]string{"ok": "✓", "healthy": "✓", "active": "◆", "acquiring": "↻", "open": "!",
			"closed": "✓", "failed": "✕", "unhealthy": "✕", "partial": "!", "running": "↻",
			"passed": "✓", "errored": "!", "abandoned": "–", "none": "○", "pending": "…", "captured": "✓"}[s]
	}
	return template.HTML(fmt.Sprintf(`<span class="badge badge-%s"><span aria-hidden="true">%s</span> %s</span>`,
		template.HTMLEscapeString(s), glyph, template.HTMLEscapeString(s)))
}

// link builds a console URL from a path and query pairs, leaving out empty
// values.
func link(p string, pairs ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] != "" {
			q.Set(pairs[i], pairs[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

// assetHashes versions the console's own CSS and JS by content, so that
// they too can be cached for good.
var assetHashes = func() map[string]string {
	out := map[string]string{}
	entries, _ := fs.ReadDir(staticFS, "static")
	for _, e := range entries {
		b, _ := fs.ReadFile(staticFS, "static/"+e.Name())
		sum := sha256.Sum256(b)
		out[e.Name()] = hex.EncodeToString(sum[:4])
	}
	return out
}()

func assetURL(name string) string { return Prefix + "static/" + name + "?v=" + assetHashes[name] }

// staticHandler serves the embedded CSS and JS with a year-long cache:
// their URLs change when their content does.
func staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("file")
		b, err := fs.ReadFile(staticFS, "static/"+name)
		if err != nil || strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		serveStatic(w, name, b, "public, max-age=31536000, immutable")
	})
}

// serveStatic writes a static file with its content type and cacheControl.
func serveStatic(w http.ResponseWriter, name string, b []byte, cacheControl string) {
	ctype := "text/css; charset=utf-8"
	switch {
	case strings.HasSuffix(name, ".js"):
		ctype = "text/javascript; charset=utf-8"
	case strings.HasSuffix(name, ".svg"):
		ctype = "image/svg+xml"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", cacheControl)
	_, _ = w.Write(b)
}

// favicon answers /favicon.ico, which browsers ask for on their own, with
// the console's icon (SVG, which every current browser takes there), cached
// for a week: its URL cannot carry a version, unlike the pages' link to it.
func favicon(w http.ResponseWriter, _ *http.Request) {
	b, _ := fs.ReadFile(staticFS, "static/favicon.svg")
	serveStatic(w, "favicon.svg", b, "public, max-age=604800")
}

func itoa(n int) string { return strconv.Itoa(n) }
