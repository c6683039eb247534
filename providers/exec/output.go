package exec

import (
	"bytes"
	"cmp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/understudy-dev/understudy/providers"
)

// capped keeps the first max bytes written to it and notes the overflow.
// It never fails a write: a failed write would leave the program blocked on
// a full pipe until the timeout.
type capped struct {
	bytes.Buffer
	max  int
	over bool
}

func (c *capped) Write(p []byte) (int, error) {
	n := len(p)
	if room := c.max - c.Len(); n > room {
		c.over = true
		p = p[:max(room, 0)]
	}
	c.Buffer.Write(p)
	return n, nil
}

// tail keeps the last max bytes written to it.
type tail struct {
	max     int
	buf     []byte
	dropped bool
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.dropped = t.dropped || len(t.buf) > 0 || len(p) > t.max
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.dropped = true
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// text returns the kept bytes, redacted, on one line, cut to their last n
// bytes.
func (t *tail) text(r redactor, n int) string {
	s := string(t.buf)
	if t.dropped {
		s = r.trimPartial(s)
	}
	s = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSpace(r.apply(s)), "\n", " | ")), " ")
	s = clean(s)
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return "…" + s[i:]
}

// minSecret is the shortest secret value that is redacted: shorter values
// would blank out ordinary words.
const minSecret = 4

// redactor replaces secret values in the program's output.
type redactor struct {
	values  []string // longest first
	r       *strings.Replacer
	longest int
}

func newRedactor(secrets map[string]string) redactor {
	names := make([]string, 0, len(secrets))
	for name, v := range secrets {
		if len(v) >= minSecret {
			names = append(names, name)
		}
	}
	// Longest value first, so that a secret containing another is replaced whole.
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(len(secrets[b]), len(secrets[a])), cmp.Compare(a, b))
	})
	var r redactor
	var pairs []string
	for _, name := range names {
		r.values = append(r.values, secrets[name])
		pairs = append(pairs, secrets[name], "[secret "+name+"]")
		r.longest = max(r.longest, len(secrets[name]))
	}
	if len(pairs) > 0 {
		r.r = strings.NewReplacer(pairs...)
	}
	return r
}

func (r redactor) apply(s string) string {
	if r.r != nil {
		s = r.r.Replace(s)
	}
	return providers.RedactTOTPURIs(s)
}

// trimPartial drops the start of s when it is the end of a secret value,
// cut off when the start of the output was dropped.
func (r redactor) trimPartial(s string) string {
	cut := 0
	for _, v := range r.values {
		for k := len(v) - 1; k > cut; k-- {
			if strings.HasPrefix(s, v[len(v)-k:]) {
				cut = k
				break
			}
		}
	}
	return s[cut:]
}

// clip makes s safe to put in a message: control characters become spaces
// and it is cut to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	s = clean(s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}
