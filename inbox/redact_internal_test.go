package inbox

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// A reader sees a subject with its codes redacted however the mail wrote
// them: Parse joins a grouped code into one value, which a plain replace
// would never find in the subject.
func TestRedactHidesCodesAsWritten(t *testing.T) {
	for _, subject := range []string{
		"Your code is 482913", "Your code is 482 913", "Your code is 4829-1377", "Your code is A7K-9Q2",
		"Your code is 4 8 2 9 1 3", "Your code is 482\u00a0913", "Code: 482\u2013913 (expires soon)",
	} {
		p := Parse([]byte("From: app@example.com\r\nTo: b@qa.example.test\r\nSubject: "+subject+"\r\n\r\nHello\r\n"), Patterns{})
		if len(p.Codes) == 0 {
			t.Fatalf("Parse found no code in %q", subject)
		}
		got := redact(p.Subject, p.Codes)
		for _, c := range p.Codes {
			if strings.Contains(strings.NewReplacer(" ", "", "-", "", "\u00a0", "", "\u2013", "").Replace(strings.ToUpper(got)), c.Value) {
				t.Errorf("redact(%q) = %q, which still shows the code %s", subject, got, c.Value)
			}
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("redact(%q) = %q, want %s in place of the code", subject, got, Redacted)
		}
	}
	if got := redact("Welcome to chirp, 2026 edition", nil); got != "Welcome to chirp, 2026 edition" {
		t.Errorf("a subject without codes changed: %q", got)
	}
}

// redactCode finds a code however it is spaced or cased, every time it is
// written, and leaves what only resembles it.
func TestRedactCodeSpellings(t *testing.T) {
	for _, c := range []struct{ subject, code, want string }{
		{"Code a7k-9q2 for you", "A7K9Q2", "Code •••• for you"},
		{"482913 or 482 913?", "482913", "•••• or ••••?"},
		{"48291 is not it", "482913", "48291 is not it"},
		{"4482913", "482913", "4••••"},
		{"Ünï 4 8 2", "482", "Ünï ••••"},
		{"-482913-", "482913", "-••••-"},
		{"", "482913", ""},
		{"Your code is AB-CD-EF", "AB-CD-EF", "Your code is ••••"},
		{"12 34AB", "12 34AB", "••••"},
		{"X.Y_Z!", "X.Y_Z", "••••!"},
		{"nothing - here", "- ", "nothing - here"},
	} {
		if got := redactCode(c.subject, c.code); got != c.want {
			t.Errorf("redactCode(%q, %q) = %q, want %q", c.subject, c.code, got, c.want)
		}
	}
}

// redactCode never panics, and what it leaves never spells the code.
func FuzzRedactCode(f *testing.F) {
	f.Add("Your code is 482 913", "482913")
	f.Add("A7K-9Q2", "a7k9q2")
	f.Add("\xff\xfe 12", "12")
	f.Fuzz(func(t *testing.T, subject, code string) {
		if code == "" || len(code) > 64 || len(subject) > 1024 || strings.ContainsRune(code, utf8.RuneError) {
			return
		}
		bare := strings.Map(func(r rune) rune {
			if isCodeSeparator(r) {
				return -1
			}
			return r
		}, code)
		if bare == "" || strings.ContainsAny(bare, Redacted) {
			return
		}
		got := redactCode(subject, code)
		for i := range got {
			if spells(got, i, bare) > i {
				t.Fatalf("redactCode(%q, %q) = %q, which still spells it at %d", subject, code, got, i)
			}
		}
	})
}

// A code a role's pattern finds with its separators is redacted too.
func TestRedactHidesPatternCodesWithSeparators(t *testing.T) {
	p := Parse([]byte("From: app@example.com\r\nSubject: Your code is AB-CD-EF\r\n\r\nHello\r\n"),
		Patterns{Code: regexp.MustCompile(`code is ([A-Z]{2}-[A-Z]{2}-[A-Z]{2})`)})
	if len(p.Codes) == 0 || p.Codes[0].Value != "AB-CD-EF" {
		t.Fatalf("codes %+v, want AB-CD-EF first", p.Codes)
	}
	if got := redact(p.Subject, p.Codes); got != "Your code is "+Redacted {
		t.Errorf("redact = %q", got)
	}
}
