package inbox

import (
	"context"
	"net/netip"

	"github.com/understudy-dev/understudy/accounts"
)

// Recipient is an accepted envelope recipient: the address as it was given
// (plus-tag included) and the synthetic account it reaches.
type Recipient struct {
	Address   string
	AccountID string
	// box is the account's mailbox as Accept found it, so that Receive
	// need not read it again; a Recipient made elsewhere has none, and
	// Receive reads it.
	box accounts.Mailbox
}

// AuthResults are the sender authentication checks of one message, kept for
// diagnosis: each is a result word of RFC 8601 (pass, fail, softfail,
// neutral, none, temperror, permerror) with an optional reason.
type AuthResults struct {
	SPF         string `json:"spf"`
	DKIM        string `json:"dkim"`
	DMARC       string `json:"dmarc"`
	Explanation string `json:"explanation,omitempty"`
}

// Delivery is one message for one or more accepted recipients.
type Delivery struct {
	// Via is the door the message came through: smtp or https.
	Via string
	// EnvelopeFrom is the SMTP MAIL FROM (or the forwarder's sender); it
	// may be empty (a bounce).
	EnvelopeFrom string
	Recipients   []Recipient
	// Raw is the message as received, at most the size limit.
	Raw []byte
	// Client is the sending host's address, when known.
	Client netip.Addr
	Auth   AuthResults
	// Helo is the name the sending host gave in EHLO or HELO (smtp only).
	Helo string
}

// Receiver is what both doors deliver to. Accept is asked for each
// recipient before the message is read: it answers an *understudy.Error
// with ENOTFOUND for an address that is not a synthetic account's (SMTP's
// 550 5.1.1), and nil with the recipient otherwise. Receive stores the
// message once per recipient, in one transaction, and wakes the waiters;
// it returns the ids of the stored messages, in the order of
// d.Recipients.
type Receiver interface {
	Accept(ctx context.Context, address string) (Recipient, error)
	Receive(ctx context.Context, d Delivery) ([]string, error)
}
