package spec

import (
	"fmt"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

// An environment block's settings are inbox_retention, a duration as
// people write it ("7d", "36h"), inbox_max_messages, and
// capture_retention, a duration the same way; the REST API and the table
// keep the retentions in seconds. An attribute the spec leaves out takes
// the server's default, as pool_size does, so that the spec alone says
// what an environment keeps.

// environmentSettings returns the environment e declares, as package
// accounts takes it, with the defaults for the settings e leaves out; the
// settings' attributes as the plan shows them; and the problems of the
// bad ones, named after the spec's attributes (a bad one is then the
// default, so that the other checks still run, and is shown as written).
func environmentSettings(e Environment) (accounts.Environment, map[string]any, []understudy.FieldError) {
	out := accounts.Environment{Name: e.Name, EmailDomains: e.EmailDomains, CustomSurfaces: orEmpty(e.CustomSurfaces),
		InboxMaxMessages: accounts.DefaultInboxMaxMessages}
	shown := map[string]any{"inbox_max_messages": out.InboxMaxMessages}
	var bad []understudy.FieldError
	if n := e.InboxMaxMessages; n != nil && (*n < 1 || *n > accounts.MaxInboxMaxMessages) {
		bad = append(bad, understudy.FieldError{Field: e.Address + ".inbox_max_messages",
			Detail: fmt.Sprintf("must be from 1 to %d; got %d", accounts.MaxInboxMaxMessages, *n)})
		shown["inbox_max_messages"] = *n
	} else if n != nil {
		out.InboxMaxMessages, shown["inbox_max_messages"] = *n, *n
	}
	out.InboxRetentionSeconds = inboxRetention.read(e.Address, "inbox_retention", e.InboxRetention, shown, &bad)
	out.CaptureRetentionSeconds = captureRetention.read(e.Address, "capture_retention", e.CaptureRetention, shown, &bad)
	return out, shown, bad
}

// retentionBounds are the default and the range of a retention setting.
type retentionBounds struct{ def, lo, hi time.Duration }

var (
	inboxRetention   = retentionBounds{accounts.DefaultInboxRetention, accounts.MinInboxRetention, accounts.MaxInboxRetention}
	captureRetention = retentionBounds{accounts.DefaultCaptureRetention, accounts.MinCaptureRetention, accounts.MaxCaptureRetention}
)

// read returns the seconds of the retention that attribute name of the
// block at address declares as written (nil for the default), and shows
// it as the server's view does ("168h" as "7d"), so that writing it
// another way changes nothing. One that is no duration, or no whole
// seconds within the bounds, adds its problem to bad, is shown as written
// and is the default.
func (b retentionBounds) read(address, name string, written *string, shown map[string]any, bad *[]understudy.FieldError) int {
	secs := int(b.def / time.Second)
	if written == nil {
		shown[name] = accounts.FormatRetention(secs)
		return secs
	}
	field := address + "." + name
	d, err := accounts.ParseRetention(*written)
	switch {
	case err != nil:
		*bad = append(*bad, understudy.FieldError{Field: field, Detail: err.Error()})
	case d < b.lo || d > b.hi || d%time.Second != 0:
		*bad = append(*bad, understudy.FieldError{Field: field, Detail: fmt.Sprintf("must be whole seconds from %s to %s; got %q",
			accounts.DescribeRetention(b.lo), accounts.DescribeRetention(b.hi), *written)})
	default:
		secs = int(d / time.Second)
		shown[name] = accounts.FormatRetention(secs)
		return secs
	}
	shown[name] = *written
	return secs
}
