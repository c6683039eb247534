package accounts

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy"
)

// The inbox settings: how long an environment's accounts keep their mail
// and how much of it, and a role's own rules for finding the codes and
// links in it. Package inbox reads them through Mailboxes and
// InboxRetentions.

// Bounds and defaults of an environment's inbox settings (the columns'
// CHECKs).
const (
	DefaultInboxRetention   = 7 * 24 * time.Hour
	MinInboxRetention       = time.Hour
	MaxInboxRetention       = 365 * 24 * time.Hour
	DefaultInboxMaxMessages = 200
	MaxInboxMaxMessages     = 10000
)

// MaxPatternLen is the longest code or link pattern of a role, in bytes.
const MaxPatternLen = 200

// maxPatternInsts bounds a pattern's compiled program, so that the work
// of matching it against each message stays small: a short pattern such
// as (x{100}){10} still compiles to a large one.
const maxPatternInsts = 2000

// ParseRetention reads a retention (an inbox's, a run capture's): a whole
// number of days ("7d") or a Go duration ("36h", "90m"). It does not
// check the bounds.
func ParseRetention(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > 100000 || strings.HasPrefix(days, "+") {
			return 0, fmt.Errorf("%q is not a whole number of days such as 7d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration such as 7d, 36h or 90m", s)
	}
	return d, nil
}

// FormatRetention writes a retention of secs seconds as ParseRetention
// reads it: whole days as "7d", anything else as a Go duration.
func FormatRetention(secs int) string {
	if secs > 0 && secs%86400 == 0 {
		return strconv.Itoa(secs/86400) + "d"
	}
	return (time.Duration(secs) * time.Second).String()
}

// DescribeRetention writes a bound of a retention as people say it, for
// messages: whole days as "365d", whole hours as "1h", anything else as a
// Go duration.
func DescribeRetention(d time.Duration) string {
	switch {
	case d > 0 && d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	case d > 0 && d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	}
	return d.String()
}

// retentionErrors names field when secs, a retention in seconds, is not
// from lo to hi.
func retentionErrors(field string, secs int, lo, hi time.Duration) []understudy.FieldError {
	l, h := int(lo/time.Second), int(hi/time.Second)
	if secs >= l && secs <= h {
		return nil
	}
	return []understudy.FieldError{{Field: field,
		Detail: fmt.Sprintf("must be from %d (%s) to %d (%s) seconds; got %d", l, DescribeRetention(lo), h, DescribeRetention(hi), secs)}}
}

// withInboxDefaults gives an environment that sets no inbox settings (a
// zero) the defaults.
func (e *Environment) withInboxDefaults() {
	if e.InboxRetentionSeconds == 0 {
		e.InboxRetentionSeconds = int(DefaultInboxRetention / time.Second)
	}
	if e.InboxMaxMessages == 0 {
		e.InboxMaxMessages = DefaultInboxMaxMessages
	}
}

// inboxErrors names the inbox settings of e that are out of bounds.
func (e *Environment) inboxErrors() []understudy.FieldError {
	out := retentionErrors("inbox_retention_seconds", e.InboxRetentionSeconds, MinInboxRetention, MaxInboxRetention)
	if m := e.InboxMaxMessages; m < 1 || m > MaxInboxMaxMessages {
		out = append(out, understudy.FieldError{Field: "inbox_max_messages",
			Detail: fmt.Sprintf("must be from 1 to %d; got %d", MaxInboxMaxMessages, m)})
	}
	return out
}

// patternErrors names the bad patterns of r.
func (r *Role) patternErrors() []understudy.FieldError {
	var out []understudy.FieldError
	if d := checkPattern(r.CodePattern, true); d != "" {
		out = append(out, understudy.FieldError{Field: "code_pattern", Detail: d})
	}
	if d := checkPattern(r.LinkPattern, false); d != "" {
		out = append(out, understudy.FieldError{Field: "link_pattern", Detail: d})
	}
	return out
}

// checkPattern says what is wrong with pattern s, or "" when nothing is
// (or s is empty: no pattern). A code pattern may have one capture group,
// the code; no pattern, nor a code pattern's group, may match the empty
// string, which would find a code or a link everywhere.
func checkPattern(s string, code bool) string {
	if s == "" {
		return ""
	}
	if len(s) > MaxPatternLen {
		return fmt.Sprintf("must be at most %d bytes; got %d", MaxPatternLen, len(s))
	}
	re, err := syntax.Parse(s, syntax.Perl)
	if err != nil {
		return "is not an RE2 regular expression: " + describeSyntax(err)
	}
	if _, err := regexp.Compile(s); err != nil {
		return "is not an RE2 regular expression: " + describeSyntax(err)
	}
	if n := re.MaxCap(); code && n > 1 {
		return fmt.Sprintf("must have at most one capture group (the code); it has %d (use (?:...) for the others)", n)
	}
	if nullable(re) {
		return "must not match the empty string"
	}
	if g := capture(re, 1); code && g != nil && nullable(g) {
		return "its capture group must not match the empty string"
	}
	if prog, err := syntax.Compile(re.Simplify()); err != nil || len(prog.Inst) > maxPatternInsts {
		return "is too large once compiled; use fewer or smaller repetitions"
	}
	return ""
}

// describeSyntax is a syntax error's reason without the package's prefix.
func describeSyntax(err error) string {
	if e, ok := errors.AsType[*syntax.Error](err); ok {
		return fmt.Sprintf("%s: `%s`", e.Code, e.Expr)
	}
	return err.Error()
}

// nullable reports whether re can match the empty string somewhere, its
// empty-width assertions (^, $, \b) taken as met.
func nullable(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText,
		syntax.OpWordBoundary, syntax.OpNoWordBoundary, syntax.OpStar, syntax.OpQuest:
		return true
	case syntax.OpLiteral:
		return len(re.Rune) == 0
	case syntax.OpCapture, syntax.OpPlus:
		return nullable(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min == 0 || nullable(re.Sub[0])
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			if !nullable(sub) {
				return false
			}
		}
		return true
	case syntax.OpAlternate:
		for _, sub := range re.Sub {
			if nullable(sub) {
				return true
			}
		}
		return false
	default: // OpNoMatch, OpCharClass, OpAnyChar, OpAnyCharNotNL
		return false
	}
}

// capture returns the capture group number n of re, or nil.
func capture(re *syntax.Regexp, n int) *syntax.Regexp {
	if re.Op == syntax.OpCapture && re.Cap == n {
		return re
	}
	for _, sub := range re.Sub {
		if g := capture(sub, n); g != nil {
			return g
		}
	}
	return nil
}
