package inbox

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// codeKeywords are the words a one-time code stands near, in several
// languages; keywordWeight weighs each match.
var codeKeywords = regexp.MustCompile(`(?i)(code[sn]?\b|c[oó]digos?|codice|kod\b|\botp\b|one[- ]?time|\bpins?\b|verif|v[ée]rif|sign[- ]?in|sign[- ]?on|log[- ]?in|confirm|authenticat|bestätig|einmal|anmeld|\b2fa\b|\bmfa\b|two[- ]factor|connexion|password|passwort|token|コード|認証|確認|验证码|驗證碼|인증)`)

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
	"booking", "reservation", "item", "sku", "model", "version"}

// findKeywords returns the code keywords of text in order, the words of
// other kinds of code left out.
func findKeywords(text string) []keyword {
	var out []keyword
	for _, m := range codeKeywords.FindAllStringIndex(text, maxKeywords) {
		if w := keywordWeight(text, m[0], m[1]); w > 0 {
			out = append(out, keyword{m[0], m[1], w})
		}
	}
	return out
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
