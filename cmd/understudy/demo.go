package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/internal/localpg"
	"github.com/understudy-dev/understudy/migrations"
	"github.com/understudy-dev/understudy/openapi"
)

// demoEnv is one environment of the demo and the provider that reaches chirp.
type demoEnv struct {
	name, provider, app string
}

var demoEnvs = []demoEnv{
	{name: "production", provider: "webhook", app: "chirp"},
	{name: "staging", provider: "postgres", app: "chirp-db"},
}

var demoRoles = []string{"buyer", "seller"}

func (a *app) demoCommand() *cobra.Command {
	var exit bool
	var addr string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show Understudy resetting a real app (chirp) on a private database",
		Long: `Start chirp, the example social app, beside an Understudy server on the embedded
default database (or DATABASE_URL), attach chirp through the webhook provider
(environment production) and through the postgres provider (environment staging),
create two roles, provision their accounts, make each chirp user post, follow and
shop, then reset every account and show what changed and what was restored.
Last, it shows chirp's leaderboard through Understudy's isolation client, as
a real user and as a synthetic one see it, and audits production's isolation:
chirp tells, surface by surface, who a real viewer sees.
It keeps serving until Ctrl-C, or exits at once with --exit.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.demo(cmd.Context(), addr, exit) },
	}
	cmd.Flags().BoolVar(&exit, "exit", false, "exit after the demo instead of serving")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "where the Understudy server listens")
	return cmd
}

// demoRun is what the demo started, to stop it in reverse order.
type demoRun struct {
	stops []func(context.Context) error
}

func (d *demoRun) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := len(d.stops) - 1; i >= 0; i-- {
		_ = d.stops[i](ctx)
	}
}

func (a *app) demo(ctx context.Context, addr string, exit bool) error {
	run := &demoRun{}
	defer run.stop()
	cfg, err := loadConfig(Config{Addr: addr}, "", a.getenv)
	if err != nil {
		return err
	}
	m := &Main{Config: cfg, Migrate: true, Logger: a.logger("error")}
	chirpURL, err := a.demoDatabases(ctx, run, m)
	if err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		return err
	}
	run.stops = append(run.stops, m.Close)
	d, err := a.newDemoClient(ctx, m)
	if err != nil {
		return err
	}
	iso, err := newDemoIsolation(ctx, run, m, "production")
	if err != nil {
		return err
	}
	chirpApp, chirpAddr, err := startDemoChirp(ctx, run, chirpURL, iso)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Understudy demo\n  chirp       http://%s\n  understudy  http://%s\n\n", chirpAddr, m.Addr())
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
	if exit {
		return nil
	}
	runner, err := d.runnerToken(ctx, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "\nServing until Ctrl-C. An admin token and a runner token were created; each is shown this once.\n"+
		"\nWith the admin token, try:\n  export UNDERSTUDY_URL=http://%s UNDERSTUDY_TOKEN=%s\n  ./bin/understudy accounts list\n"+
		"\nFor the Playwright fixture (examples/playwright) or understudy lease, with the runner token (it leases accounts, nothing more;\n"+
		"the demo's buyer pool holds one account, so run one worker):\n"+
		"  export UNDERSTUDY_URL=http://%s UNDERSTUDY_TOKEN=%s UNDERSTUDY_ENVIRONMENT=production UNDERSTUDY_ROLE=buyer CHIRP_URL=http://%s\n"+
		"  ./bin/understudy lease --environment production --role buyer -- sh -c 'echo $UNDERSTUDY_ACCOUNT_EMAIL'\n",
		m.Addr(), d.token, m.Addr(), runner, chirpAddr)
	if m.Config.ConsoleOn() {
		fmt.Fprintf(a.stdout, "\nThe web console is at http://%s/ui/ : sign in with the token %s\n", m.Addr(), d.token)
	}
	<-ctx.Done()
	return nil
}

// demoDatabases gives the demo two fresh databases: Understudy's and chirp's.
func (a *app) demoDatabases(ctx context.Context, run *demoRun, m *Main) (chirpURL string, err error) {
	server := m.Config.DatabaseURL
	if server == "" {
		cluster, err := localpg.Start(ctx, localpg.Config{Dir: filepath.Join(devDir, "pg"), Logger: m.Logger})
		if err != nil {
			return "", fmt.Errorf("starting the private PostgreSQL cluster: %w", err)
		}
		run.stops = append(run.stops, cluster.Stop)
		server = cluster.URL()
	}
	understudyDB, chirpDB := demoDatabaseNames(m.Config.DatabaseURL)
	if m.Config.DatabaseURL, err = recreateDatabase(ctx, server, understudyDB); err != nil {
		return "", err
	}
	if m.Config.SecretKey == "" {
		if m.Config.SecretKey, err = devSecretKey(filepath.Join(devDir, "secret.key")); err != nil {
			return "", err
		}
	}
	if len(m.Config.EmailDomains) == 0 {
		m.Config.EmailDomains = []string{"qa.example.test"}
	}
	if err := migrations.Up(m.Config.DatabaseURL, 0); err != nil {
		return "", err
	}
	return recreateDatabase(ctx, server, chirpDB)
}

// demoDatabaseNames names the two databases the demo recreates on the server
// of url: after the database url names, so that demos given databases of
// their own never drop each other's; understudy_demo and chirp_demo when url
// names none, or the server's maintenance database postgres.
func demoDatabaseNames(url string) (understudy, chirp string) {
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

var demoSecret = rand.Text()

// startDemoChirp serves chirp on a free local port, filtering what it shows
// through iso.
func startDemoChirp(ctx context.Context, run *demoRun, url string, iso chirp.Isolation) (*chirp.App, string, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, "", err
	}
	run.stops = append(run.stops, func(context.Context) error { pool.Close(); return nil })
	if err := chirp.Migrate(ctx, pool); err != nil {
		return nil, "", err
	}
	app, err := chirp.New(chirp.Config{DB: pool, WebhookSecret: []byte(demoSecret), Isolation: iso})
	if err != nil {
		return nil, "", err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", err
	}
	srv := &http.Server{Handler: app.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	run.stops = append(run.stops, srv.Shutdown)
	return app, ln.Addr().String(), nil
}

// demoClient drives the demo's server through the generated client.
type demoClient struct {
	out   io.Writer
	c     *openapi.ClientWithResponses
	token string
	ids   map[string]string // "env/role" → account id
}

func (a *app) newDemoClient(ctx context.Context, m *Main) (*demoClient, error) {
	_, tok, err := access.NewTokens(m.pool).Create(access.WithCaller(ctx, access.Caller{Actor: "demo"}),
		"demo-admin-"+strconv.FormatInt(time.Now().Unix(), 10), access.ScopeAdmin)
	if err != nil {
		return nil, err
	}
	c, err := openapi.NewClientWithResponses("http://"+m.Addr(), openapi.WithRequestEditorFn(
		func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+tok)
			return nil
		}))
	return &demoClient{out: a.stdout, c: c, token: tok, ids: map[string]string{}}, err
}

// runnerToken creates the demo's runner token, for the Playwright fixture.
func (d *demoClient) runnerToken(ctx context.Context, m *Main) (string, error) {
	_, tok, err := access.NewTokens(m.pool).Create(access.WithCaller(ctx, access.Caller{Actor: "demo"}),
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
