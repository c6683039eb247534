package chirp

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"
	"golang.org/x/crypto/bcrypt"

	"github.com/understudy-dev/understudy/providers/webhook/signature"
)

// Config configures an App.
type Config struct {
	// DB is the pool on chirp's database, migrated with Migrate. Required.
	DB *pgxpool.Pool
	// WebhookSecret is the HMAC secret of the webhook contract, shared with
	// Understudy. Required for the /understudy/* endpoints: without it they
	// answer 401 to every request (an empty key would accept forgeries).
	// The Go methods and ServeExec do not need it.
	WebhookSecret []byte
	// Logger receives chirp's logs. A line logged while a request that
	// carries a W3C traceparent runs names its trace (trace_id, span_id);
	// chirp logs each such request once, and marks its error reports from
	// synthetic users synthetic=true. Defaults to discarding.
	Logger *slog.Logger
	// Tracer, when set, makes a server span of every request, continuing
	// the trace of its traceparent when it has one (Understudy's webhook
	// calls, the Playwright fixture's requests). Defaults to none: chirp
	// then only logs the trace ids it is sent.
	Tracer trace.Tracer
	// Isolation, when set, is asked before a user is shown to another on
	// the leaderboard, in a feed, in search results and in notifications
	// (see Isolation); chirp's SQL rule still applies first. chirp neither
	// starts nor closes it. Defaults to none: the SQL rule alone decides.
	Isolation Isolation
	// RefPrefix turns a chirp user id into the identifier the isolation
	// list holds for it: the name chirp is attached as in Understudy and a
	// colon, so user 42 is "chirp:42". Defaults to "chirp:".
	RefPrefix string
	// LeakTrending is a planted leak, for tests of Understudy's isolation
	// audit only: the trending list (Trending, GET /trending and the
	// trending surface) forgets chirp's SQL rule and the isolation client,
	// so real viewers see synthetic users there. SetLeakTrending flips it
	// on a running App. Defaults to false; never set it in production.
	LeakTrending bool
	// PasswordCost is the bcrypt cost of the password hashes chirp stores
	// (4 to 31). Defaults to bcrypt.DefaultCost (10).
	PasswordCost int
	// SessionTTL is how long a sign-in lasts. Defaults to 12 hours.
	SessionTTL time.Duration
	// SMTPAddr is the host:port of the SMTP server chirp sends its mail
	// through (in Understudy's tests and demo, Understudy's own receiver),
	// without TLS or authentication. Defaults to none: chirp sends no mail.
	SMTPAddr string
	// MailFrom is the sender of chirp's mail. Defaults to
	// "no-reply@chirp.test".
	MailFrom string
	// MailTimeout bounds the sending of one message, from dialling to the
	// server's last answer. Defaults to 10 seconds.
	MailTimeout time.Duration
	// SignInCode makes sign-in two steps: after the password, chirp mails
	// a 6-digit code (and a magic link) to the user, and asks for the code.
	// It needs SMTPAddr and BaseURL. A pointer, so that it can be switched
	// off while SMTPAddr is set. Defaults to on when SMTPAddr is set, off
	// otherwise.
	SignInCode *bool
	// BaseURL is where people reach chirp, such as "https://chirp.example"
	// (no path): the magic links chirp mails start with it, https or http
	// as given. Required when SignInCode is on; defaults to none.
	BaseURL string
}

// WithDefaults returns c with its defaults filled in.
func (c Config) WithDefaults() Config {
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	c.RefPrefix = cmp.Or(c.RefPrefix, "chirp:")
	c.PasswordCost = cmp.Or(c.PasswordCost, bcrypt.DefaultCost)
	c.SessionTTL = cmp.Or(c.SessionTTL, 12*time.Hour)
	c.MailFrom = cmp.Or(c.MailFrom, "no-reply@chirp.test")
	c.MailTimeout = cmp.Or(c.MailTimeout, 10*time.Second)
	if c.SignInCode == nil {
		c.SignInCode = new(c.SMTPAddr != "")
	}
	c.BaseURL = strings.TrimSuffix(c.BaseURL, "/")
	return c
}

// Validate names the first field of c that is not acceptable.
func (c Config) Validate() error {
	switch {
	case c.DB == nil:
		return errors.New("chirp: Config.DB is required")
	case c.PasswordCost < bcrypt.MinCost || c.PasswordCost > bcrypt.MaxCost:
		return fmt.Errorf("chirp: Config.PasswordCost must be between %d and %d", bcrypt.MinCost, bcrypt.MaxCost)
	case c.SessionTTL < 0:
		return errors.New("chirp: Config.SessionTTL must not be negative")
	case c.MailTimeout < 0:
		return errors.New("chirp: Config.MailTimeout must not be negative")
	}
	return c.validateMail()
}

// validateMail names the first mail setting of c that is not acceptable.
func (c Config) validateMail() error {
	if c.SMTPAddr != "" {
		if host, port, err := net.SplitHostPort(c.SMTPAddr); err != nil || host == "" || port == "" {
			return fmt.Errorf("chirp: Config.SMTPAddr %q must be host:port", c.SMTPAddr)
		}
	}
	if from, err := mail.ParseAddress(c.MailFrom); err != nil || from.Address != c.MailFrom {
		return fmt.Errorf("chirp: Config.MailFrom %q must be a plain email address", c.MailFrom)
	}
	if c.SignInCode == nil || !*c.SignInCode {
		return nil
	}
	if c.SMTPAddr == "" {
		return errors.New("chirp: Config.SignInCode needs Config.SMTPAddr, to send the codes through")
	}
	u, err := url.Parse(c.BaseURL)
	if c.BaseURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("chirp: Config.BaseURL %q must be an http or https URL without a path, such as https://chirp.example; "+
			"Config.SignInCode needs it for the links it mails", c.BaseURL)
	}
	return nil
}

// App is chirp: its domain operations, the webhook contract's operations,
// and its HTTP API. It is safe for concurrent use.
type App struct {
	db     *pgxpool.Pool
	secret []byte
	log    *slog.Logger
	tracer trace.Tracer // nil without Config.Tracer
	iso    Isolation    // nil without an isolation client
	prefix string
	down   atomic.Bool
	delay  atomic.Int64 // a time.Duration
	// leakTrending is Config.LeakTrending, flipped by SetLeakTrending.
	leakTrending atomic.Bool
	cost         int           // Config.PasswordCost
	dummyHash    func() []byte // a hash to compare against when no user has the email
	sessionTTL   time.Duration // Config.SessionTTL
	mail         mailer        // Config.SMTPAddr, MailFrom, MailTimeout
	signInCode   bool          // *Config.SignInCode
	baseURL      string        // Config.BaseURL, without a trailing slash
	now          func() time.Time
}

// New returns the App configured by cfg.
func New(cfg Config) (*App, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{db: cfg.DB, secret: cfg.WebhookSecret, log: slog.New(logHandler{cfg.Logger.Handler()}), tracer: cfg.Tracer, iso: cfg.Isolation, prefix: cfg.RefPrefix,
		cost: cfg.PasswordCost, sessionTTL: cfg.SessionTTL, now: time.Now,
		mail:       mailer{addr: cfg.SMTPAddr, from: cfg.MailFrom, timeout: cfg.MailTimeout},
		signInCode: *cfg.SignInCode, baseURL: cfg.BaseURL}
	a.dummyHash = sync.OnceValue(func() []byte {
		h, _ := bcrypt.GenerateFromPassword([]byte(rand.Text()), a.cost) // cannot fail: the cost was validated
		return h
	})
	a.leakTrending.Store(cfg.LeakTrending)
	return a, nil
}

// SetDown switches fault injection on or off: when down, every HTTP
// endpoint answers 503 (the Go methods keep working).
func (a *App) SetDown(down bool) { a.down.Store(down) }

// SetDelay makes every HTTP request sleep d first (a slow app); 0 turns
// the delay off.
func (a *App) SetDelay(d time.Duration) { a.delay.Store(int64(d)) }

// Handler returns chirp's HTTP API and the webhook contract under
// /understudy/, behind the fault injection of SetDown and SetDelay, each
// request in the trace its traceparent names (see traced).
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	a.routes(mux)
	a.pageRoutes(mux)
	mux.Handle("/understudy/", a.webhookHandler())
	return a.traced(a.faults(mux))
}

// webhookHandler returns the contract's endpoints behind signature
// verification: an unsigned, forged or replayed request gets 401.
func (a *App) webhookHandler() http.Handler {
	if len(a.secret) == 0 {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "chirp has no webhook secret configured", http.StatusUnauthorized)
		})
	}
	mux := http.NewServeMux()
	a.webhookRoutes(mux)
	return signature.Middleware(a.secret, 0, mux)
}

// faults applies SetDelay, then SetDown, to every request.
func (a *App) faults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d := time.Duration(a.delay.Load()); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if a.down.Load() {
			code := CodeUnavailable
			if strings.HasPrefix(r.URL.Path, "/understudy/") {
				code = "internal" // the webhook contract's codes have no "unavailable"; 503 says retry
			}
			w.Header().Set("Retry-After", "1")
			writeProblem(w, http.StatusServiceUnavailable, problem{Code: code, Detail: "chirp is down (fault injection)"})
			return
		}
		next.ServeHTTP(w, r)
	})
}
