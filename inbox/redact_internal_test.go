package inbox

import (
	"strings"
	"testing"
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
