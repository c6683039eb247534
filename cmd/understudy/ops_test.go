package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/migrations"
	"github.com/understudy-dev/understudy/openapi"
)

// dbProxy forwards TCP connections to the test PostgreSQL until Down cuts
// them all and refuses new ones; Up listens again on the same port. It
// stands for a database that stops and comes back.
type dbProxy struct {
	t               *testing.T
	network, target string
	addr            string
	mu              sync.Mutex
	ln              net.Listener
	conns           []net.Conn
}

func newDBProxy(t *testing.T) *dbProxy {
	network, target := dbtest.ServerAddress(t)
	p := &dbProxy{t: t, network: network, target: target, addr: "127.0.0.1:0"}
	p.Up()
	t.Cleanup(p.Down)
	return p
}

func (p *dbProxy) Up() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy listen: %v", err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial(p.network, p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (p *dbProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *dbProxy) port() int { return p.ln.Addr().(*net.TCPAddr).Port }

func TestDatabaseDownAnswers503QuicklyAndRecovers(t *testing.T) {
	t.Parallel()
	proxy := newDBProxy(t)
	direct := dbtest.NewDatabase(t)
	s := startServer(t, serverOptions{DatabaseURL: dbtest.WithHost(t, direct, "127.0.0.1", proxy.port())})
	seed(t, s)
	proxy.Down()
	for _, path := range []string{"/readyz", "/v1/environments", "/v1/accounts"} {
		start := time.Now()
		resp, b := s.raw(t, s.Reader, http.MethodGet, path, "", nil)
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%s took %v with the database down", path, took)
		}
		problemOf(t, resp.StatusCode, b, http.StatusServiceUnavailable, "unavailable")
		if bytes.Contains(b, []byte("127.0.0.1")) || bytes.Contains(b, []byte("dial")) {
			t.Errorf("%s leaks connection details: %s", path, b)
		}
	}
	if resp, _ := s.raw(t, "", http.MethodGet, "/healthz", "", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz = %d while only the database is down", resp.StatusCode)
	}
	proxy.Up()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, b := s.raw(t, s.Reader, http.MethodGet, "/v1/environments", "", nil)
		if resp.StatusCode == http.StatusOK {
			if !bytes.Contains(b, []byte(`"production"`)) {
				t.Fatalf("after recovery: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not recover: %d %s", resp.StatusCode, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestWrongSecretKeyFailsClearlyAndOverwritesNothing(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	accts := seed(t, s)
	ctx := context.Background()
	before, _ := s.client(t, s.Admin).GetCredentialsWithResponse(ctx, accts[0].Id)
	other := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	wrong := startServer(t, serverOptions{DatabaseURL: s.DatabaseURL, Mutate: func(c *Config) { c.SecretKey = other }, TokenSuffix: "-2"})
	resp, b := wrong.raw(t, wrong.Admin, http.MethodGet, "/v1/accounts/"+accts[0].Id+"/credentials", "", nil)
	p := problemOf(t, resp.StatusCode, b, http.StatusInternalServerError, "internal")
	if !strings.Contains(p.Detail, "key id") || !strings.Contains(p.Detail, "nothing was changed") {
		t.Fatalf("detail does not explain the key mismatch: %s", p.Detail)
	}
	if strings.Contains(string(b), other) || strings.Contains(string(b), testKey) {
		t.Fatal("a key leaked into the response")
	}
	after, _ := s.client(t, s.Admin).GetCredentialsWithResponse(ctx, accts[0].Id)
	if after.JSON200 == nil || after.JSON200.Password != before.JSON200.Password {
		t.Fatal("the stored password changed or no longer opens with the right key")
	}
}

func TestServerRefusesASchemaThatIsBehind(t *testing.T) {
	t.Parallel()
	url := dbtest.NewEmptyDatabase(t)
	m := &Main{Config: Config{DatabaseURL: url, Addr: "127.0.0.1:0", SecretKey: testKey, EmailDomains: []string{"qa.example.test"}, DataDir: t.TempDir()}.WithDefaults(),
		Logger: (&cli{stderr: io.Discard}).logger("error")}
	err := m.Run(context.Background())
	_ = m.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "understudy migrate up") {
		t.Fatalf("Run on an empty schema = %v, want advice to run understudy migrate up", err)
	}
	m.Migrate = true
	if err := m.Run(context.Background()); err != nil {
		t.Fatalf("Run with Migrate: %v", err)
	}
	_ = m.Close(context.Background())
}

func TestConcurrentMigrationsDoNotCorruptTheSchema(t *testing.T) {
	t.Parallel()
	url := dbtest.NewEmptyDatabase(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = migrations.Up(url, 30*time.Second) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
	g, err := migrations.Open(url, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	v, dirty, err := g.Version()
	if err != nil || dirty || v != migrations.Latest() {
		t.Fatalf("version %d dirty %v err %v, want %d clean", v, dirty, err, migrations.Latest())
	}
}

func TestRequestIDReachesLogsAndAuditAndSecretsDoNot(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	lw := &lockedWriter{w: &logs}
	s := startServer(t, serverOptions{Logs: lw})
	accts := seed(t, s)
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/accounts/"+accts[0].Id+"/rotate-password", nil)
	req.Header.Set("Authorization", "Bearer "+s.Admin)
	req.Header.Set(openapi.HeaderRequestID, "trace-abc-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get(openapi.HeaderRequestID) != "trace-abc-123" {
		t.Fatalf("request id not echoed: %q", resp.Header.Get(openapi.HeaderRequestID))
	}
	audit, _ := s.client(t, s.Admin).ListAuditEventsWithResponse(context.Background(), &openapi.ListAuditEventsParams{RequestId: new("trace-abc-123")})
	if audit.JSON200 == nil || len(audit.JSON200.Items) != 1 || audit.JSON200.Items[0].Action != "account.rotate_password" {
		t.Fatalf("audit for the request id: %s", audit.Body)
	}
	var cr openapi.Credentials
	_ = jsonUnmarshal(body, &cr)
	text := logs.String()
	if !strings.Contains(text, `"request_id":"trace-abc-123"`) {
		t.Fatalf("no log line carries the request id:\n%s", text)
	}
	for _, secret := range []string{cr.Password, s.Admin, testKey} {
		if secret == "" || strings.Contains(text, secret) {
			t.Fatalf("a secret (or nothing to look for) in the logs: %q", secret)
		}
	}
}

func TestMetricsCountRequestsAndAccounts(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	resp, body := s.raw(t, "", http.MethodGet, "/metrics", "", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		`understudy_accounts{status="ready"} 2`,
		`understudy_accounts{status="retired"} 0`,
		`understudy_http_requests_total{method="POST",route="/v1/environments/:environment/roles",status="201"} 1`,
		`understudy_http_request_duration_seconds_bucket{method="GET",route="/v1/accounts",status="200",le="+Inf"} 1`,
		// Two accounts, each under its id, email and username (no app),
		// added by the one statement that filled the role's pool: one
		// version.
		`understudy_exclusion_list_size{environment="production"} 6`,
		`understudy_exclusion_list_version{environment="production"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
