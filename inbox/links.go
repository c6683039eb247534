package inbox

import (
	"math"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"unicode"
)

// Bounds and weights of the link search.
const (
	maxLinks      = 50
	maxLinkLen    = 2048 // bytes of a link or its target; longer ones are left out
	maxLinkScan   = 500  // distinct links looked at
	maxRedirects  = 3    // trackers wrapped in trackers followed
	agreeBonus    = 0.3  // the link's text and its address say the same
	blindTracking = 0.3  // a tracker that does not say where it goes
)

// Link kinds.
const (
	kindVerification = "verification"
	kindMagic        = "magic"
	kindUnsubscribe  = "unsubscribe"
	kindOther        = "other"
)

// kindScore ranks the kinds: what a test waits for first, the footer last.
var kindScore = map[string]float64{kindVerification: 3, kindMagic: 3, kindOther: 1, kindUnsubscribe: 0.2}

// textURL finds the http and https links written out in a text.
var textURL = regexp.MustCompile(`https?://[^\s<>"'\x60{}|\\^\[\]]+`)

// findLinks finds the links of a message, best first: the <a href> of the
// HTML, the links written in the text and the HTML's text, and the https
// addresses of the List-Unsubscribe header. Only https links are kept; the
// http ones are kept too when the message has no https link at all (an
// app under test on a plain-http staging host), and a tracker on http
// counts as https when its target is. The links matching pattern (when
// set) come first, then verification and magic links, other ones, and
// unsubscribe links last.
func findLinks(text string, doc htmlDoc, listUnsubscribe string, pattern *regexp.Regexp) []Link {
	var set linkSet
	for _, a := range doc.anchors {
		set.add(a.href, a.text, false)
	}
	for _, s := range []string{doc.text, text} {
		for _, u := range textURL.FindAllString(s, maxLinkScan) {
			set.add(trimURL(u), "", false)
		}
	}
	for _, part := range strings.Split(truncateUTF8(listUnsubscribe, maxHeaderValue), ",") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(part), "<"); ok {
			u, _, _ = strings.Cut(u, ">")
			set.add(strings.TrimSpace(u), "", true)
		}
	}
	return set.ranked(pattern)
}

// found is a link as found, before it is ranked.
type found struct {
	raw, text   string
	u           *url.URL
	unsubscribe bool // named by List-Unsubscribe
}

// linkSet gathers the links found, each once, in the order found.
type linkSet struct {
	links []found
	index map[string]int // where each raw link is in links
}

func (s *linkSet) add(raw, text string, unsubscribe bool) {
	if raw == "" || len(raw) > maxLinkLen {
		return
	}
	if i, ok := s.index[raw]; ok {
		s.links[i].unsubscribe = s.links[i].unsubscribe || unsubscribe
		if s.links[i].text == "" {
			s.links[i].text = text
		}
		return
	}
	if len(s.links) >= maxLinkScan {
		return
	}
	if u := webURL(raw); u != nil {
		if s.index == nil {
			s.index = make(map[string]int)
		}
		s.index[raw] = len(s.links)
		s.links = append(s.links, found{raw: cleanLine(raw, maxLinkLen), text: text, u: u, unsubscribe: unsubscribe})
	}
}

// ranked classifies the links and returns the best maxLinks.
func (s *linkSet) ranked(pattern *regexp.Regexp) []Link {
	var out []Link
	for _, f := range s.links {
		out = append(out, classify(f))
	}
	secure := false
	for _, l := range out {
		secure = secure || isHTTPS(l.URL) || isHTTPS(l.Target)
	}
	kept := out[:0]
	for _, l := range out {
		if !secure || isHTTPS(l.URL) || isHTTPS(l.Target) {
			if pattern != nil && (pattern.MatchString(l.URL) || (l.Target != "" && pattern.MatchString(l.Target))) {
				l.Score += patternScore
			}
			l.Score = math.Round(l.Score*100) / 100
			kept = append(kept, l)
		}
	}
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Score > kept[j].Score })
	if len(kept) > maxLinks {
		kept = kept[:maxLinks]
	}
	return kept
}

// classify finds a link's tracker and target, its kind and its score.
func classify(f found) Link {
	l := Link{URL: f.raw}
	dest := f.u
	if target, ok := trackerTarget(f.u); ok {
		l.Tracking = true
		dest = nil
		for hops := 0; target != nil && hops < maxRedirects; hops++ {
			l.Target, dest = target.String(), target
			if target, ok = trackerTarget(target); !ok {
				break
			}
		}
	}
	byURL := ""
	if dest != nil {
		byURL = urlKind(dest)
	}
	byText := textKind(f.text)
	switch {
	case f.unsubscribe || byURL == kindUnsubscribe || byText == kindUnsubscribe:
		l.Kind = kindUnsubscribe
	case byURL == kindVerification || byText == kindVerification:
		l.Kind = kindVerification
	case byURL == kindMagic || byText == kindMagic:
		l.Kind = kindMagic
	default:
		l.Kind = kindOther
	}
	l.Score = kindScore[l.Kind]
	if byText != "" && byText == l.Kind && byURL == l.Kind {
		l.Score += agreeBonus
	}
	if l.Tracking && dest == nil && l.Kind == kindOther {
		l.Score -= blindTracking
	}
	return l
}

// webURL parses an absolute http or https URL, or returns nil.
func webURL(raw string) *url.URL {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil
	}
	return u
}

func isHTTPS(raw string) bool {
	return len(raw) > 8 && strings.EqualFold(raw[:8], "https://")
}

// trimURL drops the punctuation that ends the sentence around a link.
func trimURL(u string) string {
	for u != "" {
		last := u[len(u)-1]
		switch {
		case strings.IndexByte(".,;:!?'\"*", last) >= 0:
			u = u[:len(u)-1]
		case last == ')' && strings.Count(u, "(") < strings.Count(u, ")"):
			u = u[:len(u)-1]
		default:
			return u
		}
	}
	return u
}

// Words of a link's address (its host and path) and of its text that say
// what the link is for.
var (
	unsubscribeURL  = []string{"unsub", "opt-out", "optout", "opt_out", "preferences", "email-settings"}
	verificationURL = []string{"verif", "confirm", "activat", "validat"}
	magicURL        = []string{"magic", "login", "log-in", "log_in", "signin", "sign-in", "sign_in", "passwordless"}
	magicURLWords   = []string{"auth", "oauth", "sso", "otp", "callback", "session", "authenticate"}
	magicQuery      = []string{"token", "code", "otp", "magic", "login_token", "auth", "access_token"}

	unsubscribeText  = []string{"unsubscribe", "abmelden", "désabonner", "desabonner", "darse de baja", "desuscribir", "cancelar suscripción", "opt out", "opt-out", "preferences", "manage subscription", "afmelden", "disiscriviti"}
	verificationText = []string{"verify", "verif", "confirm", "activate", "validate", "bestätig", "vérifie", "aktivier", "bevestig", "conferma", "確認", "認証"}
	magicText        = []string{"sign in", "sign-in", "signin", "log in", "log-in", "login", "sign me in", "log me in", "anmelden", "se connecter", "iniciar sesión", "accedi", "magic link", "inloggen", "ログイン"}
)

// urlKind is what a link's address says it is for.
func urlKind(u *url.URL) string {
	where := strings.ToLower(u.Host + u.Path)
	switch {
	case containsAny(where, unsubscribeURL):
		return kindUnsubscribe
	case containsAny(where, verificationURL):
		return kindVerification
	case containsAny(where, magicURL):
		return kindMagic
	}
	for _, word := range strings.FieldsFunc(where, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if oneOf(word, magicURLWords) {
			return kindMagic
		}
	}
	for key := range u.Query() {
		if oneOf(strings.ToLower(key), magicQuery) {
			return kindMagic
		}
	}
	return ""
}

// textKind is what the text of a link says it is for.
func textKind(text string) string {
	text = strings.ToLower(text)
	switch {
	case text == "":
		return ""
	case containsAny(text, unsubscribeText):
		return kindUnsubscribe
	case containsAny(text, verificationText):
		return kindVerification
	case containsAny(text, magicText):
		return kindMagic
	}
	return ""
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
