package run

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/understudy-dev/understudy"
)

// Outcome is how a run ended: passed, failed or errored as its release
// tells, abandoned when its lease expired without one. The zero Outcome is
// none yet.
type Outcome string

// Outcomes. SQL statements use them through the constants below.
const (
	Passed    Outcome = "passed"
	Failed    Outcome = "failed"
	Errored   Outcome = "errored"
	Abandoned Outcome = "abandoned"
)

// sqlAbandoned is Abandoned as a SQL literal, so the two never disagree.
const sqlAbandoned = `'` + string(Abandoned) + `'`

// Reported reports whether o is an outcome a release may record: passed,
// failed or errored (abandoned is the expiry's to record).
func (o Outcome) Reported() bool { return o == Passed || o == Failed || o == Errored }

// Valid reports whether o is one of the four outcomes.
func (o Outcome) Valid() bool { return o.Reported() || o == Abandoned }

// The bounds of what a run records, in characters (a flow's pattern is
// FlowPattern). openapi.yaml states the same bounds; Validate checks them
// before anything is written.
const (
	MaxRunID    = 200
	MaxFlow     = 100
	MaxURL      = 2048
	MaxVersion  = 200
	MaxMessage  = 8192
	MaxTest     = 1000
	MaxLinks    = 20
	MaxLinkName = 100
)

// FlowPattern is what a flow's name looks like: letters, digits, spaces
// and . _ : / @ + # -, starting with a letter or digit and not ending with
// a space; ValidFlow also bounds its length. A flow names a test path
// ("checkout", "signup/email"), and is a metric label: the pattern keeps
// it printable and short. A name starting with "_" is never a flow's, so
// the metrics' own buckets (OtherFlow) cannot be mistaken for one.
var FlowPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9 _.:/@+#-]*[A-Za-z0-9_.:/@+#-])?$`)

// ValidFlow reports whether s is a flow's name: FlowPattern, at most
// MaxFlow characters.
func ValidFlow(s string) bool { return len(s) <= MaxFlow && FlowPattern.MatchString(s) }

// Naming names the run a lease is used for. Every field is optional; ""
// is unnamed.
type Naming struct {
	// RunID is the CI's id of the run (GITHUB_RUN_ID, CI_PIPELINE_ID).
	RunID string `json:"run_id"`
	// Flow is the flow or test path the run exercises: FlowPattern.
	Flow string `json:"flow"`
	// CIURL is the CI job's page, http or https.
	CIURL string `json:"ci_url"`
	// Version is the version of the app under test (a tag, a commit).
	Version string `json:"version"`
}

// Validate names every bad field of n, each prefixed with prefix ("run."
// inside a lease request, "" on its own).
func (n Naming) Validate(prefix string) []understudy.FieldError {
	var f []understudy.FieldError
	bad := func(field, detail string) {
		f = append(f, understudy.FieldError{Field: prefix + field, Detail: detail})
	}
	if d := textProblem(n.RunID, MaxRunID, false); d != "" {
		bad("run_id", d)
	}
	if n.Flow != "" && !ValidFlow(n.Flow) {
		bad("flow", "must be at most "+strconv.Itoa(MaxFlow)+" letters, digits, spaces and . _ : / @ + # -, starting with a letter or digit")
	}
	if n.CIURL != "" {
		if d := urlProblem(n.CIURL); d != "" {
			bad("ci_url", d)
		}
	}
	if d := textProblem(n.Version, MaxVersion, false); d != "" {
		bad("version", d)
	}
	return f
}

// Link is a link to evidence kept elsewhere: a CI artifact, a trace, a
// screenshot in a bucket.
type Link struct {
	// Name says what the link shows: 1 to MaxLinkName characters.
	Name string `json:"name"`
	// URL is where: http or https, at most MaxURL characters.
	URL string `json:"url"`
}

// Report is how a run ended, as its release tells it.
type Report struct {
	// Outcome is passed, failed or errored. Required.
	Outcome Outcome
	// Message says why it failed: at most MaxMessage characters, lines
	// and tabs allowed.
	Message string
	// Test names the test that failed: at most MaxTest characters.
	Test string
	// Links point at evidence kept elsewhere: at most MaxLinks.
	Links []Link
}

// Validate names every bad field of r.
func (r Report) Validate() error {
	var f []understudy.FieldError
	bad := func(field, detail string) { f = append(f, understudy.FieldError{Field: field, Detail: detail}) }
	if !r.Outcome.Reported() {
		bad("outcome", "must be passed, failed or errored")
	}
	if d := textProblem(r.Message, MaxMessage, true); d != "" {
		bad("message", d)
	}
	if d := textProblem(r.Test, MaxTest, false); d != "" {
		bad("test", d)
	}
	if len(r.Links) > MaxLinks {
		bad("links", "must be at most "+strconv.Itoa(MaxLinks))
	}
	for i, l := range r.Links[:min(len(r.Links), MaxLinks)] {
		at := "links[" + strconv.Itoa(i) + "]."
		if d := textProblem(l.Name, MaxLinkName, false); d != "" || l.Name == "" {
			bad(at+"name", "is required: at most "+strconv.Itoa(MaxLinkName)+" characters, no control characters")
		}
		if d := urlProblem(l.URL); d != "" {
			bad(at+"url", d)
		}
	}
	if len(f) > 0 {
		return understudy.Invalid("invalid outcome", f...)
	}
	return nil
}

// textProblem says what is wrong with s as a text of at most max
// characters without control characters (but for newlines and tabs, with
// lines), or "".
func textProblem(s string, max int, lines bool) string {
	if utf8.RuneCountInString(s) > max {
		return "must be at most " + strconv.Itoa(max) + " characters"
	}
	for _, c := range s {
		if unicode.IsControl(c) && !(lines && (c == '\n' || c == '\t' || c == '\r')) {
			return "must not hold control characters"
		}
	}
	return ""
}

// urlProblem says what is wrong with s as a link, or "": an absolute http
// or https URL with a host, at most MaxURL characters, no spaces or
// control characters.
func urlProblem(s string) string {
	const want = "must be an http or https URL with a host, at most 2048 characters"
	if len(s) > MaxURL || strings.ContainsFunc(s, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) {
		return want
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return want + ", and no user name or password"
	}
	return ""
}

// Record is a lease's run as this package keeps it: its name, and its
// outcome once recorded.
type Record struct {
	Naming
	// Outcome is "" until the run's release (or its lease's expiry)
	// records one.
	Outcome Outcome `json:"outcome,omitempty"`
	Message string  `json:"message"`
	Test    string  `json:"test"`
	Links   []Link  `json:"links"`
	// OutcomeAt is when the outcome was recorded: when the lease ended,
	// or later for an outcome sent after a release that had none.
	OutcomeAt *time.Time `json:"outcome_at,omitempty"`
}

// Run is one lease seen as a run: which account of which role it held,
// by whom and when, and its Record (empty for a lease that never named a
// run nor recorded an outcome).
type Run struct {
	LeaseID     string `json:"lease_id"`
	AccountID   string `json:"account_id"`
	Environment string `json:"environment"`
	Role        string `json:"role"`
	Holder      string `json:"holder"`
	// LeaseStatus is the lease's: acquiring, active, released, expired
	// or failed.
	LeaseStatus string     `json:"lease_status"`
	AcquiredAt  time.Time  `json:"acquired_at"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	Record
	// DurationSeconds is from the lease's acquisition to its end (to the
	// outcome, if that came first), when there is an outcome.
	DurationSeconds *float64 `json:"duration_seconds,omitempty"`
	// Deployment is the deployment the run ran against: its environment's
	// newest at or before the lease was acquired; nil when there was none.
	Deployment *Deployment `json:"deployment,omitempty"`
	// CaptureStatus is where the capture of the account's state at the
	// run's end is (Captures): pending, captured or failed; "" when the
	// run has none (it passed, or has not ended).
	CaptureStatus CaptureStatus `json:"capture_status,omitempty"`

	environmentID string
}
