package inbox

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// codeKeywords are the words a one-time code stands near, in several
// languages, lower case; keywordWeight weighs each occurrence. A keyword
// marked whole must not be glued to letters on either side.
var codeKeywords = []struct {
	word  string
	whole bool
}{
	{"code", false}, {"codigo", false}, {"código", false}, {"codice", false}, {"kod", true},
	{"otp", true}, {"one-time", false}, {"one time", false}, {"onetime", false}, {"pin", true},
	{"verif", false}, {"vérif", false}, {"sign-in", false}, {"sign in", false}, {"signin", false},
	{"sign-on", false}, {"sign on", false}, {"log-in", false}, {"log in", false}, {"login", false},
	{"confirm", false}, {"authenticat", false}, {"bestätig", false}, {"einmal", false},
	{"anmeld", false}, {"2fa", true}, {"mfa", true}, {"two-factor", false}, {"two factor", false},
	{"connexion", false}, {"password", false}, {"passwort", false}, {"token", false},
	{"コード", false}, {"認証", false}, {"確認", false}, {"验证码", false}, {"驗證碼", false}, {"인증", false},
}

// keyword is one occurrence of a code keyword in a text.
type keyword struct {
	start, end int
	weight     float64
}

// Words that, glued before "code" or just before or after it, make it
// another kind of code (a barcode, a promo code, a zip code, a code of
// conduct).
var (
	notCodePrefixes = []string{"bar", "post", "zip", "qr", "de", "en", "uni", "geo", "pro", "op", "source"}
	notCodeBefore   = []string{"promo", "promotional", "discount", "coupon", "voucher", "gift", "referral",
		"area", "postal", "zip", "country", "source", "dress", "tracking", "order", "invite", "invitation",
		"sale", "post", "qr", "bar", "reference", "booking", "product", "error", "status"}
	notCodeAfter = []string{"of", "postal", "promo", "promocional"}
)

// negativeWords between a keyword and a number, or just after it, say it
// is something other than a code.
var negativeWords = []string{"order", "invoice", "ref", "reference", "phone", "call", "tel", "fax",
	"price", "total", "promo", "coupon", "discount", "zip", "suite", "street", "tracking", "customer",
	"member", "ticket", "©", "copyright", "unit", "floor", "box", "usd", "eur", "number",
	"booking", "reservation", "item", "sku", "model", "version", "st", "ave", "rd", "road", "blvd",
	"lane", "dr", "straße", "strasse", "rue", "calle", "via"}

// findKeywords returns the code keywords of text in order, the words of
// other kinds of code left out. It looks for each word with strings.Index
// in a copy of text lower-cased in ASCII (so that offsets are kept).
func findKeywords(text string) []keyword {
	lower := asciiLower(text)
	var out []keyword
	for _, k := range codeKeywords {
		for off := 0; off < len(lower) && len(out) < maxKeywords; {
			i := strings.Index(lower[off:], k.word)
			if i < 0 {
				break
			}
			start, end := off+i, off+i+len(k.word)
			off = end
			if k.word == "code" && end < len(lower) && (lower[end] == 's' || lower[end] == 'n') {
				end++
			}
			if (k.whole || k.word == "code") && letterAt(lower, end) {
				continue
			}
			if k.whole && letterBefore(lower, start) {
				continue
			}
			if w := keywordWeight(text, start, end); w > 0 {
				out = append(out, keyword{start, end, w})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

// asciiLower lower-cases the ASCII letters of s, leaving every other byte,
// so that offsets into the result are offsets into s.
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func letterAt(s string, i int) bool {
	r, _ := utf8.DecodeRuneInString(s[i:])
	return unicode.IsLetter(r)
}

func letterBefore(s string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return unicode.IsLetter(r)
}

// keywordWeight is how strongly a keyword match announces a code: 1 for
// the words that name one, less for those that only go with one, 0 for a
// code of another kind.
func keywordWeight(text string, start, end int) float64 {
	m := strings.ToLower(text[start:end])
	switch {
	case strings.HasPrefix(m, "cod"), strings.HasPrefix(m, "cód"), strings.HasPrefix(m, "kod"):
		if oneOf(gluedWord(text, start), notCodePrefixes) ||
			(gluedWord(text, start) == "" && oneOf(wordBefore(text, start), notCodeBefore)) ||
			oneOf(wordAfter(text, end), notCodeAfter) {
			return 0
		}
		return 1
	case strings.HasPrefix(m, "password"), strings.HasPrefix(m, "passwort"), strings.HasPrefix(m, "token"):
		return 0.4
	case strings.HasPrefix(m, "sign"), strings.HasPrefix(m, "log"), strings.HasPrefix(m, "confirm"),
		strings.HasPrefix(m, "authenticat"), strings.HasPrefix(m, "bestätig"), strings.HasPrefix(m, "anmeld"),
		strings.HasPrefix(m, "connexion"), m == "確認":
		return 0.7
	}
	return 1
}

func oneOf(s string, words []string) bool {
	for _, w := range words {
		if s == w {
			return true
		}
	}
	return false
}

// gluedWord is the run of letters right before i, lower-cased (the "pass"
// of "passcode"), at most 24 bytes.
func gluedWord(text string, i int) string {
	j := i
	for j > 0 && i-j < 24 {
		r, n := utf8.DecodeLastRuneInString(text[:j])
		if !unicode.IsLetter(r) {
			break
		}
		j -= n
	}
	return strings.ToLower(text[j:i])
}

// wordBefore is the word before i, past spaces and a hyphen, lower-cased.
func wordBefore(text string, i int) string {
	j := i
	for j > 0 && i-j < 3 && (text[j-1] == ' ' || text[j-1] == '-') {
		j--
	}
	if j == i {
		return ""
	}
	return gluedWord(text, j)
}

// wordAfter is the word after i, past spaces, lower-cased.
func wordAfter(text string, i int) string {
	for i < len(text) && text[i] == ' ' {
		i++
	}
	j := i
	for j < len(text) && j-i < 24 {
		r, n := utf8.DecodeRuneInString(text[j:])
		if !unicode.IsLetter(r) {
			break
		}
		j += n
	}
	return strings.ToLower(text[i:j])
}
