package spec

import (
	"fmt"
	"time"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
)

// An environment block's inbox settings are inbox_retention, a duration
// as people write it ("7d", "36h"), and inbox_max_messages; the REST API
// and the table keep the retention in seconds. An attribute the spec
// leaves out takes the server's default, as pool_size does, so that the
// spec alone says what an environment keeps.

// inboxSettings returns e's inbox settings in the server's units, the
// defaults for what e leaves out, and the problems of the others, named
// after the spec's attributes (a bad one is then the default, so that the
// other checks still run).
func inboxSettings(e Environment) (secs, max int, bad []understudy.FieldError) {
	secs, max = int(accounts.DefaultInboxRetention/time.Second), accounts.DefaultInboxMaxMessages
	if n := e.InboxMaxMessages; n != nil && (*n < 1 || *n > accounts.MaxInboxMaxMessages) {
		bad = append(bad, understudy.FieldError{Field: e.Address + ".inbox_max_messages",
			Detail: fmt.Sprintf("must be from 1 to %d; got %d", accounts.MaxInboxMaxMessages, *n)})
	} else if n != nil {
		max = *n
	}
	if e.InboxRetention == nil {
		return secs, max, bad
	}
	field := e.Address + ".inbox_retention"
	d, err := accounts.ParseRetention(*e.InboxRetention)
	switch {
	case err != nil:
		bad = append(bad, understudy.FieldError{Field: field, Detail: err.Error()})
	case d < accounts.MinInboxRetention || d > accounts.MaxInboxRetention || d%time.Second != 0:
		bad = append(bad, understudy.FieldError{Field: field,
			Detail: fmt.Sprintf("must be whole seconds from 1h to 365d; got %q", *e.InboxRetention)})
	default:
		secs = int(d / time.Second)
	}
	return secs, max, bad
}

// accountsEnvironment is the environment e declares, as package accounts
// takes it, and the problems of its inbox settings.
func accountsEnvironment(e Environment) (accounts.Environment, []understudy.FieldError) {
	secs, max, bad := inboxSettings(e)
	return accounts.Environment{Name: e.Name, EmailDomains: e.EmailDomains, CustomSurfaces: orEmpty(e.CustomSurfaces),
		InboxRetentionSeconds: secs, InboxMaxMessages: max}, bad
}
