// Package demo tells the story of `understudy demo`: it starts chirp, the
// example social app, beside an Understudy server on fresh databases,
// attaches chirp through the webhook and the postgres providers, provisions
// accounts, makes them act in chirp and resets them, shows chirp's
// leaderboard through the isolation client, audits isolation and syncs the
// exclusion list to a local fake PostHog, printing what happens.
//
// Run does it all. It does not build the server itself: Config.Serve starts
// Understudy on the database the demo prepared (the CLI boots its own
// server there), and the demo then drives it through the generated REST
// client as a user would. steps.go holds the provisioning and the resets,
// isolation.go the leaderboard and the audit, sync.go the sync to PostHog.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/devcluster"
	"github.com/understudy-dev/understudy/isolation/client"
	"github.com/understudy-dev/understudy/migrations"
	"github.com/understudy-dev/understudy/openapi"
)

// environment is one environment of the demo and the provider that reaches chirp.
type environment struct {
	name, provider, app string
}

var environments = []environment{
	{name: "production", provider: "webhook", app: "chirp"},
	{name: "staging", provider: "postgres", app: "chirp-db"},
}

var roles = []string{"buyer", "seller"}

// Config configures a run of the demo.
type Config struct {
	// Out receives the story. Required.
	Out io.Writer
	// DatabaseURL names the PostgreSQL server the demo makes its two
	// databases on (see DatabaseNames). Defaults to the private development
	// cluster (devcluster), started for the demo.
	DatabaseURL string
	// Serve starts Understudy on the database at databaseURL, whose schema
	// the demo has migrated, and returns it once it accepts requests. The
	// server must allow the email domain qa.example.test. Required.
	Serve func(ctx context.Context, databaseURL string) (Server, error)
	// Exit ends the demo once its story is told. Defaults to false: the demo
	// prints how to try the server and keeps serving until ctx ends.
	Exit bool
	// Logger receives what the private cluster does. Defaults to a logger
	// that discards everything.
	Logger *slog.Logger
}

// Server is the Understudy server the demo drives, as Config.Serve started it.
type Server struct {
	// Addr is where it listens, host:port.
	Addr string
	// Pool is its database, where the demo makes its tokens.
	Pool *pgxpool.Pool
	// EmailDomains are the email domains it allows.
	EmailDomains []string
	// Console reports whether it serves the web console.
	Console bool
	// SMTPAddr is where it receives mail, host:port: chirp sends its
	// sign-in codes there. Empty leaves chirp's sign-in at the password.
	SMTPAddr string
	// Stop stops it; the demo calls it when it ends.
	Stop func(context.Context) error
}

// Validate names the first required field that is missing.
func (c Config) Validate() error {
	switch {
	case c.Out == nil:
		return errors.New("demo: Config.Out is required")
	case c.Serve == nil:
		return errors.New("demo: Config.Serve is required")
	}
	return nil
}

// cleanup is what the demo started, to stop it in reverse order.
type cleanup struct {
	stops []func(context.Context) error
}

func (d *cleanup) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(d.stops) - 1; i >= 0; i-- {
		_ = d.stops[i](ctx)
	}
}

// Run runs the demo, and then, unless cfg.Exit, serves until ctx ends.
// Everything it started is stopped when it returns.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	run := &cleanup{}
	defer run.stop()
	understudyURL, chirpURL, err := databases(ctx, run, cfg)
	if err != nil {
		return err
	}
	srv, err := cfg.Serve(ctx, understudyURL)
	if err != nil {
		return err
	}
	run.stops = append(run.stops, srv.Stop)
	d, err := newSession(ctx, cfg.Out, srv)
	if err != nil {
		return err
	}
	iso, err := newIsolation(ctx, run, srv, "production")
	if err != nil {
		return err
	}
	chirpApp, chirpAddr, err := startChirp(ctx, run, chirpURL, srv.SMTPAddr, iso)
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "Understudy demo\n  chirp       http://%s\n  understudy  http://%s\n\n", chirpAddr, srv.Addr)
	consoleAt := ""
	if srv.Console {
		consoleAt = "http://" + srv.Addr
	}
	if err := d.tell(ctx, run, chirpApp, chirpAddr, chirpURL, iso, consoleAt); err != nil {
		return err
	}
	if cfg.Exit {
		return nil
	}
	runner, err := d.runnerToken(ctx, srv)
	if err != nil {
		return err
	}
	fmt.Fprintf(cfg.Out, "\nServing until Ctrl-C. An admin token and a runner token were created; each is shown this once.\n"+
		"\nWith the admin token, try:\n  export UNDERSTUDY_URL=http://%s UNDERSTUDY_TOKEN=%s\n  ./bin/understudy accounts list\n"+
		"\nFor the Playwright fixture (examples/playwright) or understudy lease, with the runner token (it leases accounts, nothing more;\n"+
		"the demo's buyer pool holds one account, so run one worker):\n"+
		"  export UNDERSTUDY_URL=http://%s UNDERSTUDY_TOKEN=%s UNDERSTUDY_ENVIRONMENT=production UNDERSTUDY_ROLE=buyer CHIRP_URL=http://%s\n"+
		"  ./bin/understudy lease --environment production --role buyer -- sh -c 'echo $UNDERSTUDY_ACCOUNT_EMAIL'\n",
		srv.Addr, d.token, srv.Addr, runner, chirpAddr)
	if srv.Console {
		fmt.Fprintf(cfg.Out, "\nThe web console is at http://%s/ui/ : sign in with the token %s\n", srv.Addr, d.token)
	}
	<-ctx.Done()
	return nil
}

// tell runs the demo's steps in order, from the set-up to the runs of a
// flow; consoleAt is the console's address ("" without a console).
func (d *session) tell(ctx context.Context, run *cleanup, chirpApp *chirp.App, chirpAddr, chirpURL string, iso *client.Client, consoleAt string) error {
	if err := d.setUp(ctx, chirpAddr, chirpURL); err != nil {
		return err
	}
	if err := d.actAndReset(ctx, chirpApp); err != nil {
		return err
	}
	if err := d.showIsolation(ctx, chirpApp, iso); err != nil {
		return err
	}
	if err := d.auditIsolation(ctx); err != nil {
		return err
	}
	if err := d.syncToPostHog(ctx, run); err != nil {
		return err
	}
	if err := d.signInThroughWalls(ctx, chirpAddr); err != nil {
		return err
	}
	return d.runFlows(ctx, chirpApp, consoleAt)
}

// databases gives the demo two fresh databases on the server of
// cfg.DatabaseURL, or of the private cluster: Understudy's, migrated, and
// chirp's.
func databases(ctx context.Context, run *cleanup, cfg Config) (understudyURL, chirpURL string, err error) {
	server := cfg.DatabaseURL
	if server == "" {
		cluster, err := devcluster.Start(ctx, devcluster.Config{Logger: cfg.Logger})
		if err != nil {
			return "", "", err
		}
		run.stops = append(run.stops, cluster.Stop)
		server = cluster.URL()
	}
	understudyDB, chirpDB := DatabaseNames(cfg.DatabaseURL)
	if understudyURL, err = recreateDatabase(ctx, server, understudyDB); err != nil {
		return "", "", err
	}
	if err := migrations.Up(understudyURL, 0); err != nil {
		return "", "", err
	}
	chirpURL, err = recreateDatabase(ctx, server, chirpDB)
	return understudyURL, chirpURL, err
}

// DatabaseNames names the two databases the demo recreates on the server of
// url: after the database url names, so that demos given databases of
// their own never drop each other's; understudy_demo and chirp_demo when url
// names none, or the server's maintenance database postgres.
func DatabaseNames(url string) (understudy, chirp string) {
	if url != "" {
		if cfg, err := pgx.ParseConfig(url); err == nil && cfg.Database != "" && cfg.Database != "postgres" {
			return cfg.Database + "_demo", cfg.Database + "_chirp"
		}
	}
	return "understudy_demo", "chirp_demo"
}

// recreateDatabase drops and creates database name on the server at url,
// and returns the URL of the new database.
func recreateDatabase(ctx context.Context, url, name string) (string, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return "", fmt.Errorf("connecting to the database server: %w", err)
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", fmt.Errorf("dropping database %s: %w", name, err)
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	cfg := conn.Config()
	return fmt.Sprintf("host=%s port=%d user=%s dbname=%s sslmode=disable", cfg.Host, cfg.Port, cfg.User, name) +
		passwordPart(cfg.Password), nil
}

func passwordPart(p string) string {
	if p == "" {
		return ""
	}
	return " password=" + p
}

var webhookSecret = rand.Text()

// startChirp serves chirp on a free local port, filtering what it shows
// through iso.
func startChirp(ctx context.Context, run *cleanup, url, smtpAddr string, iso chirp.Isolation) (*chirp.App, string, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, "", err
	}
	run.stops = append(run.stops, func(context.Context) error { pool.Close(); return nil })
	if err := chirp.Migrate(ctx, pool); err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	// With the server's SMTP receiver, chirp mails its sign-in codes there:
	// its walls are up.
	cfg := chirp.Config{DB: pool, WebhookSecret: []byte(webhookSecret), Isolation: iso}
	if smtpAddr != "" {
		cfg.SMTPAddr, cfg.BaseURL = smtpAddr, "http://"+ln.Addr().String()
	}
	app, err := chirp.New(cfg)
	if err != nil {
		ln.Close()
		return nil, "", err
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	run.stops = append(run.stops, srv.Shutdown)
	return app, ln.Addr().String(), nil
}

// session drives the demo's server through the generated client.
type session struct {
	out   io.Writer
	c     *openapi.ClientWithResponses
	token string
	ids   map[string]string // "env/role" → account id
}

// newSession makes the demo's admin token and a client that uses it.
func newSession(ctx context.Context, out io.Writer, srv Server) (*session, error) {
	_, tok, err := access.NewTokens(srv.Pool).Create(access.WithCaller(ctx, access.Caller{Actor: "demo"}),
		"demo-admin-"+strconv.FormatInt(time.Now().Unix(), 10), access.ScopeAdmin)
	if err != nil {
		return nil, err
	}
	c, err := openapi.NewClientWithResponses("http://"+srv.Addr, openapi.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}))
	return &session{out: out, c: c, token: tok, ids: map[string]string{}}, err
}

// runnerToken creates the demo's runner token, for the Playwright fixture.
func (d *session) runnerToken(ctx context.Context, srv Server) (string, error) {
	_, tok, err := access.NewTokens(srv.Pool).Create(access.WithCaller(ctx, access.Caller{Actor: "demo"}),
		"demo-runner-"+strconv.FormatInt(time.Now().Unix(), 10), access.ScopeRunner)
	if err != nil {
		return "", fmt.Errorf("creating the demo's runner token: %w", err)
	}
	return tok, nil
}

// errorOf turns a failed demo call into an error naming the step.
func errorOf(step string, status int, body []byte, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	if status >= 300 {
		return fmt.Errorf("%s: HTTP %d: %s", step, status, body)
	}
	return nil
}

var errNotReady = errors.New("accounts are not ready")
