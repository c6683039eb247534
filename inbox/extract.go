package inbox

import (
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Bounds and weights of the code search.
const (
	maxCodes      = 10
	maxCodeLen    = 64        // bytes of a code a role's pattern finds
	maxCodeScan   = 256 << 10 // bytes of each source searched: codes come early
	maxKeywords   = 4096      // keyword occurrences used per source
	beforeWindow  = 120       // bytes before a code a keyword may stand
	afterWindow   = 60        // bytes after a code a keyword may stand
	yearWindow    = 12        // bytes before a year-like code its keyword must stand
	minCodeScore  = 0.35      // below it, a code-shaped run is no code
	patternScore  = 10        // a role's own pattern outranks every default rule
	subjectBonus  = 0.5
	ownLineBonus  = 0.4
	emphasisBonus = 0.4
	sixDigitBonus = 0.1 // the most common shape of all
	sourcesBonus  = 0.1 // found in more than one of subject, text and html
	negativeScore = 0.6
)

// findCodes finds the one-time codes of a message, most likely first: the
// matches of pattern (when set), then the code-shaped runs that stand near
// a keyword such as "code", "verification" or "Bestätigungscode".
func findCodes(subject, text string, doc htmlDoc, pattern *regexp.Regexp) []Code {
	sources := []codeSource{
		{name: "subject", text: subject},
		{name: "text", text: text},
		{name: "html", text: doc.text, doc: &doc},
	}
	var set codeSet
	if pattern != nil {
		for _, s := range sources {
			for _, m := range pattern.FindAllStringSubmatchIndex(truncateUTF8(s.text, maxCodeScan), maxCodes) {
				start, end := m[0], m[1]
				if len(m) >= 4 && m[2] >= 0 {
					start, end = m[2], m[3]
				}
				if v := cleanLine(strings.TrimSpace(s.text[start:end]), maxCodeLen); v != "" {
					set.add(v, s.name, patternScore)
				}
			}
		}
	}
	for _, s := range sources {
		s.text = truncateUTF8(s.text, maxCodeScan)
		s.keywords = findKeywords(s.text)
		if len(s.keywords) == 0 {
			continue
		}
		scanCandidates(s.text, func(c candidate) {
			if score := s.score(c); score >= minCodeScore {
				set.add(c.value, s.name, score)
			}
		})
	}
	return set.ranked()
}

// codeSet gathers the codes found, each once, with its best score.
type codeSet struct {
	codes   []Code
	sources []int // how many sources found each code
}

func (s *codeSet) add(value, source string, score float64) {
	for i := range s.codes {
		if s.codes[i].Value != value {
			continue
		}
		if s.codes[i].Source != source {
			s.sources[i]++
		}
		if score > s.codes[i].Score {
			s.codes[i].Score, s.codes[i].Source = score, source
		}
		return
	}
	if len(s.codes) < 4*maxCodes {
		s.codes = append(s.codes, Code{Value: value, Source: source, Score: score})
		s.sources = append(s.sources, 1)
	}
}

// ranked returns the best maxCodes codes, highest score first and, among
// equals, first found first; scores are rounded to hundredths.
func (s *codeSet) ranked() []Code {
	for i := range s.codes {
		if s.sources[i] > 1 && s.codes[i].Score < patternScore {
			s.codes[i].Score += sourcesBonus
		}
		s.codes[i].Score = math.Round(s.codes[i].Score*100) / 100
	}
	sort.SliceStable(s.codes, func(i, j int) bool { return s.codes[i].Score > s.codes[j].Score })
	if len(s.codes) > maxCodes {
		s.codes = s.codes[:maxCodes]
	}
	return s.codes
}

// codeSource is one text a code is looked for in.
type codeSource struct {
	name     string
	text     string
	doc      *htmlDoc // the html source's emphasis, else nil
	keywords []keyword
}

// score rates a candidate; 0 rules it out.
func (s *codeSource) score(c candidate) float64 {
	if ruledOut(s.text, c) {
		return 0
	}
	weight, kwEnd := s.nearestKeyword(c)
	if weight == 0 || (yearLike(c.value) && (kwEnd == 0 || c.start-kwEnd > yearWindow)) {
		return 0
	}
	score := weight
	if s.name == "subject" {
		score += subjectBonus
	}
	if ownLine(s.text, c) {
		score += ownLineBonus
	}
	if s.doc != nil && s.doc.emphasized(c.start, c.end) {
		score += emphasisBonus
	}
	if len(c.value) == 6 && allDigits(c.value) {
		score += sixDigitBonus
	}
	after := s.text[c.end:min(len(s.text), c.end+20)]
	after, _, _ = strings.Cut(after, "\n")
	between := s.text[max(kwEnd, c.start-40, 0):c.start] + " " + after
	if hasWord(strings.ToLower(between), negativeWords) {
		score -= negativeScore
	}
	return score
}

// nearestKeyword is the weight of the keyword that best announces c,
// lowered with its distance, and the end of the nearest keyword before c
// (0 without one).
func (s *codeSource) nearestKeyword(c candidate) (weight float64, kwEnd int) {
	ks := s.keywords
	i := sort.Search(len(ks), func(i int) bool { return ks[i].end >= c.start-beforeWindow })
	for ; i < len(ks) && ks[i].start <= c.end+afterWindow; i++ {
		k := ks[i]
		var w float64
		switch {
		case k.end <= c.start && c.start-k.end <= beforeWindow:
			w = k.weight * (0.1 + 0.9*(1-float64(c.start-k.end)/beforeWindow))
			kwEnd = k.end
		case k.start >= c.end && k.start-c.end <= afterWindow:
			w = 0.9 * k.weight * (0.1 + 0.9*(1-float64(k.start-c.end)/afterWindow))
		}
		weight = max(weight, w)
	}
	return weight, kwEnd
}

// ownLine reports whether a candidate stands alone on its line (give or
// take a closing full stop or colon).
func ownLine(text string, c candidate) bool {
	lo := max(0, c.start-100)
	nl := strings.LastIndexByte(text[lo:c.start], '\n')
	if nl < 0 && lo > 0 {
		return false
	}
	ls := lo + nl + 1
	hi := min(len(text), c.end+100)
	le := strings.IndexByte(text[c.end:hi], '\n')
	switch {
	case le >= 0:
		le += c.end
	case hi < len(text):
		return false
	default:
		le = hi
	}
	line := strings.TrimRight(strings.TrimSpace(text[ls:le]), ".!:")
	return line == text[c.start:c.end]
}

// ruledOut reports whether what stands around a candidate makes it a
// price, a time, a date, a part of a longer number, a URL, an address or
// a reference rather than a code.
func ruledOut(text string, c candidate) bool {
	if c.start > 0 {
		p := text[c.start-1]
		if strings.IndexByte("#$+/\\@=&?%_~^*<|", p) >= 0 {
			return true
		}
		if strings.IndexByte(".,:", p) >= 0 && c.start > 1 && allDigits(text[c.start-2:c.start-1]) {
			return true
		}
	}
	if c.end < len(text) {
		n := text[c.end]
		if strings.IndexByte("%$/\\@=&_~^*>|", n) >= 0 {
			return true
		}
		if strings.IndexByte(".,:-", n) >= 0 && c.end+1 < len(text) && isAlnum(text[c.end+1]) {
			return true
		}
	}
	before := strings.TrimRight(text[max(0, c.start-8):c.start], " \u00a0")
	if r, _ := utf8.DecodeLastRuneInString(before); strings.ContainsRune("$€£¥₹", r) {
		return true
	}
	after := strings.TrimLeft(text[c.end:min(len(text), c.end+12)], " \u00a0")
	if r, _ := utf8.DecodeRuneInString(after); strings.ContainsRune("€£¥%", r) {
		return true
	}
	if startsWithWord(strings.ToLower(after), currencyWords) {
		return true
	}
	return inURL(text, c) || stateZip(before) || postcode(text, c)
}

// postcode reports whether a number reads as the postcode of an address:
// after a comma, before a capitalized place name ("12, 10115 Berlin").
func postcode(text string, c candidate) bool {
	if !allDigits(c.value) || c.start < 2 || text[c.start-2:c.start] != ", " {
		return false
	}
	rest := text[c.end:min(len(text), c.end+2)]
	return len(rest) == 2 && rest[0] == ' ' && rest[1] >= 'A' && rest[1] <= 'Z'
}

var currencyWords = []string{"usd", "eur", "gbp", "chf", "jpy", "cad", "aud", "sek", "nok", "dkk", "dollars", "euros", "euro"}

// startsWithWord reports whether s starts with one of words, as a word.
func startsWithWord(s string, words []string) bool {
	for _, w := range words {
		if rest, ok := strings.CutPrefix(s, w); ok {
			if r, _ := utf8.DecodeRuneInString(rest); !unicode.IsLetter(r) {
				return true
			}
		}
	}
	return false
}

// inURL reports whether a candidate is inside a URL, an address or a
// path: the white-space-delimited word around it says so.
func inURL(text string, c candidate) bool {
	from := c.start
	for from > 0 && c.start-from < 200 && !isSpaceByte(text[from-1]) {
		from--
	}
	to := c.end
	for to < len(text) && to-c.end < 200 && !isSpaceByte(text[to]) {
		to++
	}
	word := text[from:to]
	return strings.Contains(word, "://") || strings.Contains(word, "www.") ||
		strings.ContainsAny(word, "@=/\\")
}

func isSpaceByte(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// stateZip reports whether what precedes a number is ", CA": a US address.
func stateZip(before string) bool {
	n := len(before)
	return n >= 4 && before[n-1] >= 'A' && before[n-1] <= 'Z' && before[n-2] >= 'A' && before[n-2] <= 'Z' &&
		before[n-3] == ' ' && before[n-4] == ','
}

// hasWord reports whether s holds one of words, not inside a longer word.
func hasWord(s string, words []string) bool {
	for _, w := range words {
		for off := 0; off < len(s); {
			i := strings.Index(s[off:], w)
			if i < 0 {
				break
			}
			i += off
			before, _ := utf8.DecodeLastRuneInString(s[:i])
			after, _ := utf8.DecodeRuneInString(s[i+len(w):])
			if !unicode.IsLetter(before) && !unicode.IsLetter(after) {
				return true
			}
			off = i + len(w)
		}
	}
	return false
}
