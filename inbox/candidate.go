package inbox

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// candidate is a code-shaped run of a text: value is the code, its
// separators removed; [start, end) is where the run stands.
type candidate struct {
	value      string
	start, end int
}

// scanCandidates calls emit for each code-shaped run of text: 4 to 8
// digits or upper-case letters and digits with at least one digit, and the
// split forms "482 913", "4829-1377", "A7K-9Q2" and "4 8 2 9 1 3" joined.
func scanCandidates(text string, emit func(candidate)) {
	var chain []span
	for i := 0; i < len(text); {
		if !isAlnum(text[i]) {
			i++
			continue
		}
		j := i
		for j < len(text) && isAlnum(text[j]) {
			j++
		}
		codeish := j-i <= 8 && upperOrDigit(text[i:j]) && !letterAround(text, i, j)
		if codeish && len(chain) > 0 && isSeparator(text[chain[len(chain)-1].end:i]) {
			chain = append(chain, span{i, j})
		} else {
			emitChain(text, chain, emit)
			chain = chain[:0]
			if codeish {
				chain = append(chain, span{i, j})
			}
		}
		i = j
	}
	emitChain(text, chain, emit)
}

// emitChain emits the candidates of a run of code-ish tokens separated by
// single spaces or dashes: the run joined when it is a split code, nothing
// when it is a long number (a phone number), else each token alone.
func emitChain(text string, chain []span, emit func(candidate)) {
	if len(chain) == 0 {
		return
	}
	first, last := chain[0], chain[len(chain)-1]
	if len(chain) > 1 {
		if splitCode(text, chain) {
			var b strings.Builder
			for _, t := range chain {
				b.WriteString(text[t.start:t.end])
			}
			emit(candidate{b.String(), first.start, last.end})
			return
		}
		if allDigits(text[first.start:last.end]) || digitRun(text, chain) {
			return
		}
	}
	for _, t := range chain {
		if v := text[t.start:t.end]; len(v) >= 4 && strings.ContainsAny(v, "0123456789") {
			emit(candidate{v, t.start, t.end})
		}
	}
}

// splitCode reports whether a run of tokens is one code written in groups:
// four to eight single digits, or two groups of three or four of the same
// length, both digits or both holding a digit.
func splitCode(text string, chain []span) bool {
	single := len(chain) >= 4 && len(chain) <= 8
	for _, t := range chain {
		single = single && t.end-t.start == 1 && allDigits(text[t.start:t.end])
	}
	if single {
		return true
	}
	if len(chain) != 2 {
		return false
	}
	a, b := text[chain[0].start:chain[0].end], text[chain[1].start:chain[1].end]
	if len(a) != len(b) || len(a) < 3 || len(a) > 4 {
		return false
	}
	digits := "0123456789"
	return (allDigits(a) && allDigits(b)) || (strings.ContainsAny(a, digits) && strings.ContainsAny(b, digits))
}

// digitRun reports whether every token of a run is digits: a long number.
func digitRun(text string, chain []span) bool {
	for _, t := range chain {
		if !allDigits(text[t.start:t.end]) {
			return false
		}
	}
	return true
}

func isSeparator(gap string) bool {
	switch gap {
	case " ", "-", "\u00a0", "\u2013", "\u2011":
		return true
	}
	return false
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

func upperOrDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// letterAround reports whether the token text[i:j] is glued to a
// non-ASCII letter (part of a word such as "Größe2024").
func letterAround(text string, i, j int) bool {
	before, _ := utf8.DecodeLastRuneInString(text[:i])
	after, _ := utf8.DecodeRuneInString(text[j:])
	return unicode.IsLetter(before) || unicode.IsLetter(after)
}

// yearLike reports whether a value reads as a year (a footer's 2024).
func yearLike(v string) bool {
	return len(v) == 4 && allDigits(v) && (v[:2] == "19" || v[:2] == "20")
}
