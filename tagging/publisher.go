package tagging

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
)

// SyntheticUser is one synthetic identity as one destination knows it.
type SyntheticUser struct {
	// DistinctID is the id the destination knows the user by (the email,
	// the account id, an app's ref or a template, per destination). It is
	// what a publisher marks, lists and filters.
	DistinctID string `json:"distinct_id"`
	// AccountID is the Understudy account behind the identity.
	AccountID string `json:"account_id"`
	// Email is the account's email, at a controlled domain.
	Email string `json:"email"`
	// Tags are the account's tags: TagSynthetic ("true"), TagRole,
	// TagEnvironment, TagAccountID.
	Tags map[string]string `json:"tags"`
}

// Ack is called by a publisher after each batch the vendor accepted, with
// the identities of that batch, before the next batch is sent: the sync run
// records them at once, so a run that fails later resumes after them and
// never sends an accepted item twice. An error from Ack stops the publisher,
// which returns it.
type Ack func(ctx context.Context, done []SyntheticUser) error

// Publisher is one destination's vendor client: what it can do
// (Capabilities), a read-only check of its credentials (Test), and the
// steps that only the vendor's UI can do (ManualSteps). It implements the
// optional interfaces Marker, Lister, Filterer and Verifier that match its
// capabilities, and nothing else.
type Publisher interface {
	// Capabilities says which of mark, list, filter and verify the
	// publisher does.
	Capabilities() []Capability
	// Test makes one read-only, authenticated call and says what the
	// vendor answered. Errors: ErrCredentials, ErrUnavailable, ErrRejected.
	Test(ctx context.Context) (Check, error)
	// ManualSteps are the exact steps a person must do in the vendor's UI
	// for the exclusion to be complete (none when the API does it all).
	ManualSteps() []string
}

// Capability is one thing a publisher does.
type Capability string

// Capabilities.
const (
	// CapMark sets the tags on each synthetic identity.
	CapMark Capability = "mark"
	// CapList keeps a named list (cohort, segment) of exactly the synthetic identities.
	CapList Capability = "list"
	// CapFilter installs a project-level filter that removes the list or
	// the tag from reports or from ingestion.
	CapFilter Capability = "filter"
	// CapVerify asks the vendor afterwards whether the identities are
	// absent from the filtered view.
	CapVerify Capability = "verify"
)

// Marker sets (Mark) or clears (Unmark) the tags of identities. It splits
// ids into batches within the vendor's documented limits and calls ack after
// each accepted batch. Errors: ErrCredentials, ErrUnavailable (after its
// retries), ErrRejected (the vendor refused a batch, said in a 4xx or inside
// a 200), context errors.
type Marker interface {
	Mark(ctx context.Context, ids []SyntheticUser, ack Ack) error
	Unmark(ctx context.Context, ids []SyntheticUser, ack Ack) error
}

// Lister adds identities to, and removes them from, the destination's list
// of synthetic identities (creating the list when it has none), in batches
// within the vendor's limits, calling ack after each. Errors: as Marker.
type Lister interface {
	AddToList(ctx context.Context, ids []SyntheticUser, ack Ack) error
	RemoveFromList(ctx context.Context, ids []SyntheticUser, ack Ack) error
}

// Filterer makes sure the vendor's project-level filter that excludes the
// synthetic identities is installed, keeping every filter it did not write.
// It returns whether it changed anything. Errors: as Marker.
type Filterer interface {
	EnsureFilter(ctx context.Context) (changed bool, err error)
}

// Verifier asks the vendor whether any of ids still appears in its
// filtered view. Errors: as Marker.
type Verifier interface {
	VerifyExcluded(ctx context.Context, ids []SyntheticUser) (Verification, error)
}

// Check is what a Test found.
type Check struct {
	OK bool `json:"ok"`
	// Detail says what the vendor answered, in a sentence (never a secret).
	Detail string `json:"detail"`
}

// Verification is what a Verifier found.
type Verification struct {
	// Checked is how many identities were looked for.
	Checked int `json:"checked"`
	// Visible lists the distinct ids that the filtered view still shows.
	Visible []string `json:"visible"`
	// Detail says how it was checked (the query, the filter).
	Detail string `json:"detail"`
}

// Sentinel errors of the contract: publishers wrap them with what the
// vendor said, so that a run's error reads "PostHog refused the credentials
// (401)" and callers still test errors.Is.
var (
	// ErrCredentials: the vendor refused the key or token (401, 403, or
	// its equivalent inside a 200).
	ErrCredentials = errors.New("the vendor refused the credentials")
	// ErrUnavailable: the vendor is down, slow or rate-limited past the
	// retries; trying again later may work.
	ErrUnavailable = errors.New("the vendor is unavailable")
	// ErrRejected: the vendor understood the request and refused it, or
	// reported an error for part of it.
	ErrRejected = errors.New("the vendor rejected the request")
)

// Config is what a publisher is built from: a destination's settings and
// secrets, and the server's HTTP client and logger.
type Config struct {
	// Destination is the destination's name, for logs and errors.
	Destination string
	// Settings are the destination's settings, as attached (JSON object).
	Settings json.RawMessage
	// Secrets are the destination's secrets (API keys, tokens), opened.
	// A publisher never logs them nor puts them in an error.
	Secrets map[string]string
	// HTTPClient sends the requests. Defaults to a client with a 30s timeout.
	HTTPClient *http.Client
	// Logger receives the publisher's logs. Defaults to discarding.
	Logger *slog.Logger
}

// Factory builds a publisher, decoding and validating cfg. A bad setting or
// a missing secret is a *ConfigError naming it.
type Factory func(cfg Config) (Publisher, error)

// ConfigError names the setting or secret that is missing or wrong, by its
// JSON path ("settings.project_id", "secrets.api_key").
type ConfigError struct {
	Field  string
	Detail string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Detail }

// Previewer is an optional capability: the requests Mark/Unmark (and, where the
// publisher can build them without asking the vendor, AddToList/RemoveFromList)
// would send for ids, built exactly as they would be sent but not sent, with every
// secret replaced by "[redacted]". Steps that need the vendor's answer first (a
// cohort's id to look up) are described in Note instead. remove asks for the
// requests of Unmark and RemoveFromList instead of Mark and AddToList. Errors:
// ErrRejected (an identity the publisher would refuse before sending).
type Previewer interface {
	Preview(ids []SyntheticUser, remove bool) ([]PreviewRequest, error)
}

// PreviewRequest is one request a publisher would send.
type PreviewRequest struct {
	// Action is what the request does: PreviewMark, PreviewUnmark,
	// PreviewListAdd or PreviewListRemove.
	Action string `json:"action"`
	Method string `json:"method"`
	URL    string `json:"url"`
	// Header holds the request's headers, auth headers redacted.
	Header map[string]string `json:"header,omitempty"`
	// Body is the body as sent (form or JSON), secrets redacted; a body
	// over PreviewBodyLimit is cut there, with a "… (N bytes)" suffix.
	Body string `json:"body,omitempty"`
	// Identities is how many identities the request carries.
	Identities int `json:"identities"`
	// Note describes what the request cannot show: a lookup the vendor
	// must answer first.
	Note string `json:"note,omitempty"`
}

// Actions of a PreviewRequest.
const (
	PreviewMark       = "mark"
	PreviewUnmark     = "unmark"
	PreviewListAdd    = "list-add"
	PreviewListRemove = "list-remove"
)
