package run

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Bounds of a deployment.
const (
	// MaxVersionLength is the longest version, in characters: room for a
	// tag, a commit's SHA-256 or an image digest with its repository.
	MaxVersionLength = 200
	// MaxDeploymentURLLength is the longest URL, in bytes.
	MaxDeploymentURLLength = 2048
	// MaxDeploymentAhead is how far past the server's clock a deployment's
	// time may be: the skew of a CI runner's clock, not a schedule.
	MaxDeploymentAhead = 5 * time.Minute
	// MaxDeploymentAge is how far before the server's clock a deployment's
	// time may be, so that a year of history can be recorded afterwards.
	MaxDeploymentAge = 366 * 24 * time.Hour
	// MaxDeploymentPage is the most deployments one list returns.
	MaxDeploymentPage = 1000
	// DefaultDeploymentPage is a list's page when its filter sets none.
	DefaultDeploymentPage = 100
)

// Deployment marks a new version of an environment: what a CI pipeline
// records when it ships.
type Deployment struct {
	ID          string `json:"id"`
	Environment string `json:"environment"`
	// Version is what was deployed: a tag, a commit, an image digest.
	Version string `json:"version"`
	// DeployedAt is when the version went live.
	DeployedAt time.Time `json:"deployed_at"`
	// URL links to the deployment's pipeline or release; empty for none.
	URL string `json:"url,omitempty"`
	// RecordedBy is the actor (the token's name) that recorded it.
	RecordedBy string    `json:"recorded_by"`
	RecordedAt time.Time `json:"recorded_at"`
}

// DeploymentRecord is a deployment to record.
type DeploymentRecord struct {
	Environment string
	Version     string
	// DeployedAt defaults to the server's clock when zero. It is kept to
	// the microsecond, PostgreSQL's precision.
	DeployedAt time.Time
	// URL is optional: an absolute http or https URL, without credentials.
	URL string
}

// DeploymentFilter selects deployments, newest first.
type DeploymentFilter struct {
	// Environment is an environment's name; empty for every environment.
	Environment string
	// Since keeps the deployments at or after it; zero for no bound.
	Since time.Time
	// Until keeps the deployments before it; zero for no bound.
	Until time.Time
	// Before is the id of a deployment: only those after it in the list's
	// order (older, or as old with a smaller id) are returned, so that the
	// last id of one page asks for the next. Empty for the first page.
	Before string
	// Limit is the page's size, 1 to MaxDeploymentPage. Defaults to
	// DefaultDeploymentPage.
	Limit int
}

// DeploymentPage is one page of a list.
type DeploymentPage struct {
	Items []Deployment `json:"items"`
	// NextBefore is the Before of the next page; empty on the last page.
	NextBefore string `json:"next_before,omitempty"`
}

// DeploymentsConfig configures a Deployments.
type DeploymentsConfig struct {
	// DB is the pool (or, in tests, a transaction). Required.
	DB pgdb.DB
	// Now tells the time: a deployment's default time, the bounds of a
	// deployment's time, and, in SQL, when it was recorded. Defaults to
	// time.Now in Go and to the database's clock in SQL.
	Now func() time.Time
}

// Deployments records and lists the deployments of every environment
// (table deployments).
type Deployments struct {
	db    pgdb.DB
	now   func() time.Time
	clock func() time.Time // the injected clock, nil without one: see pgdb.Now
}

// NewDeployments returns a Deployments, or an error naming the missing
// field of cfg.
func NewDeployments(cfg DeploymentsConfig) (*Deployments, error) {
	if cfg.DB == nil {
		return nil, errors.New("run: DeploymentsConfig.DB is required")
	}
	d := &Deployments{db: cfg.DB, now: cfg.Now, clock: cfg.Now}
	if d.now == nil {
		d.now = time.Now
	}
	return d, nil
}

// Record records the deployment r. The same environment, version and time
// recorded again is the same deployment: Record returns it with created
// false, records nothing and audits nothing, so that a retried CI step is
// harmless; with another URL it is ECONFLICT. A new deployment is audited
// (deployment.record) in its transaction.
// Errors: EINVALID naming the field, ENOTFOUND (the environment), ECONFLICT.
func (s *Deployments) Record(ctx context.Context, r DeploymentRecord) (d Deployment, created bool, err error) {
	now := s.now()
	if r.DeployedAt.IsZero() {
		r.DeployedAt = now
	}
	r.DeployedAt = r.DeployedAt.Truncate(time.Microsecond)
	if err := r.validate(now); err != nil {
		return Deployment{}, false, err
	}
	err = pgx.BeginFunc(ctx, s.db, func(tx pgx.Tx) error {
		envID, found, err := accounts.EnvironmentID(ctx, tx, r.Environment)
		if err != nil {
			return err
		}
		if !found {
			return understudy.Errorf(understudy.ENOTFOUND, "environment %s does not exist", r.Environment)
		}
		actor := access.CallerFrom(ctx).Actor
		if actor == "" {
			actor = "system"
		}
		d, created, err = insertDeployment(ctx, tx, envID, r, actor, pgdb.Now(s.clock))
		if err != nil || !created {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "deployment.record", TargetType: "deployment", TargetID: d.ID,
			Details: map[string]any{"environment": d.Environment, "version": d.Version, "deployed_at": d.DeployedAt, "url": d.URL}})
	})
	if err != nil {
		return Deployment{}, false, pgdb.Translate(err, "", "")
	}
	if !created && d.URL != r.URL {
		return Deployment{}, false, understudy.Errorf(understudy.ECONFLICT,
			"the deployment of version %s to %s at %s is already recorded, with another url (%q); record it with the same url, or at another time",
			r.Version, r.Environment, r.DeployedAt.UTC().Format(time.RFC3339Nano), d.URL)
	}
	return d, created, nil
}

// validate names every bad field of r, against the server's clock now.
func (r DeploymentRecord) validate(now time.Time) error {
	var fields []understudy.FieldError
	if r.Environment == "" {
		fields = append(fields, understudy.FieldError{Field: "environment", Detail: "is required"})
	}
	if detail := versionProblem(r.Version); detail != "" {
		fields = append(fields, understudy.FieldError{Field: "version", Detail: detail})
	}
	switch {
	case r.DeployedAt.After(now.Add(MaxDeploymentAhead)):
		fields = append(fields, understudy.FieldError{Field: "deployed_at",
			Detail: fmt.Sprintf("is %s ahead of the server's clock; a deployment is recorded when it happens, at most %s ahead", r.DeployedAt.Sub(now).Round(time.Second), MaxDeploymentAhead)})
	case r.DeployedAt.Before(now.Add(-MaxDeploymentAge)):
		fields = append(fields, understudy.FieldError{Field: "deployed_at",
			Detail: fmt.Sprintf("is more than %d days before the server's clock", int(MaxDeploymentAge/(24*time.Hour)))})
	}
	if detail := deploymentURLProblem(r.URL); detail != "" {
		fields = append(fields, understudy.FieldError{Field: "url", Detail: detail})
	}
	if len(fields) > 0 {
		return understudy.Invalid("invalid deployment", fields...)
	}
	return nil
}

// versionProblem says what is wrong with a version, or "".
func versionProblem(v string) string {
	switch n := utf8.RuneCountInString(v); {
	case v == "":
		return "is required"
	case !utf8.ValidString(v):
		return "is not UTF-8 text"
	case n > MaxVersionLength:
		return fmt.Sprintf("is %d characters long; at most %d", n, MaxVersionLength)
	case strings.IndexFunc(v, unicode.IsControl) >= 0:
		return "holds a control character"
	case strings.TrimSpace(v) != v:
		return "starts or ends with white space"
	}
	return ""
}

// deploymentURLProblem says what is wrong with a deployment's URL, or ""
// (an empty URL is none).
func deploymentURLProblem(raw string) string {
	if raw == "" {
		return ""
	}
	if len(raw) > MaxDeploymentURLLength {
		return fmt.Sprintf("is %d bytes long; at most %d", len(raw), MaxDeploymentURLLength)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return "is not an absolute URL such as https://ci.example.com/runs/42"
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Sprintf("must be an http or https URL, not %s", u.Scheme)
	case u.User != nil:
		return "must not carry a user name or password"
	}
	return ""
}

// uuidRE matches a UUID in its text form.
var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// List returns a page of the deployments f selects, newest first (by
// time, then id). Errors: EINVALID naming the field (a bad limit, an
// until not after since, an unknown before), ENOTFOUND (the environment).
func (s *Deployments) List(ctx context.Context, f DeploymentFilter) (DeploymentPage, error) {
	if f.Limit == 0 {
		f.Limit = DefaultDeploymentPage
	}
	var fields []understudy.FieldError
	if f.Limit < 1 || f.Limit > MaxDeploymentPage {
		fields = append(fields, understudy.FieldError{Field: "limit", Detail: fmt.Sprintf("must be from 1 to %d", MaxDeploymentPage)})
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		fields = append(fields, understudy.FieldError{Field: "until", Detail: "must be after since"})
	}
	if f.Before != "" && !uuidRE.MatchString(f.Before) {
		fields = append(fields, understudy.FieldError{Field: "before", Detail: "is not a deployment id"})
	}
	if len(fields) > 0 {
		return DeploymentPage{}, understudy.Invalid("invalid deployment filter", fields...)
	}
	q := deploymentQuery{limit: f.Limit + 1, since: f.Since, until: f.Until}
	if f.Environment != "" {
		id, found, err := accounts.EnvironmentID(ctx, s.db, f.Environment)
		if err != nil {
			return DeploymentPage{}, err
		}
		if !found {
			return DeploymentPage{}, understudy.Errorf(understudy.ENOTFOUND, "environment %s does not exist", f.Environment)
		}
		q.environmentID = id
	}
	if f.Before != "" {
		at, found, err := deploymentTime(ctx, s.db, f.Before)
		if err != nil {
			return DeploymentPage{}, err
		}
		if !found {
			return DeploymentPage{}, understudy.Invalid("invalid deployment filter",
				understudy.FieldError{Field: "before", Detail: "no deployment has id " + f.Before})
		}
		q.before, q.beforeID = at, f.Before
	}
	list, err := listDeployments(ctx, s.db, q)
	if err != nil {
		return DeploymentPage{}, err
	}
	page := DeploymentPage{Items: list}
	if len(list) > f.Limit {
		page.Items = list[:f.Limit]
		page.NextBefore = page.Items[f.Limit-1].ID
	}
	if page.Items == nil {
		page.Items = []Deployment{}
	}
	return page, nil
}

// Last returns the newest deployment of each environment that has one, by
// environment name: what understudy_deployment_last_timestamp_seconds
// reports.
func (s *Deployments) Last(ctx context.Context) ([]Deployment, error) {
	return LastDeployments(ctx, s.db)
}
