package exec_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/exec"
	"github.com/understudy-dev/understudy/tracing"
)

var target = providers.Target{Ref: "42", AccountID: "acct-1"}

// script writes a /bin/sh program into a fresh directory and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "adapter")
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// newProgram returns a Program running body; edit changes the config
// before New. The script runs through /bin/sh rather than being executed
// itself: executing a file just written can fail with ETXTBSY while another
// test forks (its child briefly holds the write descriptor).
func newProgram(t *testing.T, body string, edit func(*exec.Config)) *exec.Program {
	t.Helper()
	cfg := exec.Config{App: "shop", Command: []string{"/bin/sh", script(t, body)}}
	if edit != nil {
		edit(&cfg)
	}
	p, err := exec.New(cfg)
	if err != nil {
		t.Fatalf("exec.New: %v", err)
	}
	return p
}

func TestBadOutput(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, body, mentions string }{
		{"garbage", `echo 'hello, this is not JSON'`, `the program's output is not JSON: "hello, this is not JSON"`},
		{"empty", `cat >/dev/null`, `the program's output is not JSON: ""`},
		{"two objects", `echo '{}{}'`, `not JSON`},
		{"an array", `echo '[]'`, `not a JSON object: "[]"`},
		{"a wrong type", `echo '{"error":"boom"}'`, `does not fit the protocol`},
		{"long garbage", `head -c 5000 /dev/zero | tr '\0' x`, `"` + strings.Repeat("x", 200) + `…"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := newProgram(t, tc.body, nil).Verify(t.Context(), target)
			if !errors.Is(err, providers.ErrProtocol) || !strings.Contains(err.Error(), tc.mentions) {
				t.Fatalf("Verify: %v, want ErrProtocol mentioning %q", err, tc.mentions)
			}
			if !strings.HasPrefix(err.Error(), "verifying user 42 of account acct-1 in shop: ") {
				t.Errorf("error %q does not say what was being done", err)
			}
		})
	}
}

func TestMissingFields(t *testing.T) {
	t.Parallel()
	p := newProgram(t, `echo '{}'`, nil)
	if _, err := p.Provision(t.Context(), providers.Account{ID: "acct-1"}); !errors.Is(err, providers.ErrProtocol) || !strings.Contains(err.Error(), "no ref") {
		t.Errorf("Provision answered {}: %v, want ErrProtocol: no ref", err)
	}
	if _, err := p.Snapshot(t.Context(), target); !errors.Is(err, providers.ErrProtocol) || !strings.Contains(err.Error(), "no state") {
		t.Errorf("Snapshot answered {}: %v, want ErrProtocol: no state", err)
	}
}

// alive says whether pid runs (a zombie, waiting for its parent, does not).
func alive(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

func TestTimeoutKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	pids := filepath.Join(t.TempDir(), "pids")
	p := newProgram(t, `echo $$ > "$PIDS"; sleep 60 & echo $! >> "$PIDS"; wait`, func(c *exec.Config) {
		c.Timeout = 300 * time.Millisecond
		c.Env = map[string]string{"PIDS": pids}
	})
	start := time.Now()
	err := p.Verify(t.Context(), target)
	elapsed := time.Since(start)
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Fatalf("Verify of a program that hangs: %v, want ErrUnavailable: timed out after 300ms", err)
	}
	if elapsed > 1500*time.Millisecond {
		t.Errorf("Verify took %s, want about 300ms", elapsed)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatalf("the script did not record its pids: %v", err)
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		t.Fatalf("pids file %q, want the shell's and sleep's", b)
	}
	for _, f := range fields {
		pid, _ := strconv.Atoi(f)
		deadline := time.Now().Add(2 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("process %d is still running after the timeout", pid)
		}
	}
}

func TestNonZeroExit(t *testing.T) {
	t.Parallel()
	for _, body := range []string{
		`echo "the database is on fire" >&2; exit 3`,
		`echo '{}'; echo "the database is on fire" >&2; exit 3`, // an answer does not make a crash a success
	} {
		err := newProgram(t, body, nil).Verify(t.Context(), target)
		if !errors.Is(err, providers.ErrUnavailable) {
			t.Fatalf("Verify of a program exiting 3: %v, want ErrUnavailable", err)
		}
		if !strings.Contains(err.Error(), "exited with code 3") || !strings.HasSuffix(err.Error(), "; stderr: the database is on fire") {
			t.Errorf("error %q does not give the exit code and stderr", err)
		}
	}
	err := newProgram(t, `kill -9 $$`, nil).Verify(t.Context(), target)
	if !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "signal: killed") {
		t.Errorf("Verify of a program killed by a signal: %v, want ErrUnavailable naming the signal", err)
	}
}

func TestErrorResponses(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]error{
		"not_found":     providers.ErrNotFound,
		"not_synthetic": providers.ErrNotSynthetic,
		"not_owned":     providers.ErrNotOwned,
		"refused":       providers.ErrRefused,
		"invalid":       providers.ErrRefused,
		"unavailable":   providers.ErrUnavailable,
		"on_fire":       providers.ErrProtocol,
	} {
		for _, exit := range []int{0, 1} {
			body := fmt.Sprintf(`echo '{"error":{"code":"%s","message":"user 42 says %s"}}'; exit %d`, code, code, exit)
			err := newProgram(t, body, nil).Verify(t.Context(), target)
			if !errors.Is(err, want) || !strings.Contains(err.Error(), "user 42 says "+code) {
				t.Errorf("error response %s (exit %d): %v, want %q with the message", code, exit, err, want)
			}
		}
	}
}

func TestSecretsStayOutOfErrors(t *testing.T) {
	t.Parallel()
	const secret = "postgres://chirp:Zq9-s3cr3t-Xw7@db.internal/chirp"
	cases := map[string]string{
		"stderr":         `echo "cannot connect to $CHIRP_DATABASE_URL" >&2; exit 1`,
		"error response": `echo "{\"error\":{\"code\":\"unavailable\",\"message\":\"cannot connect to $CHIRP_DATABASE_URL\"}}"`,
		"garbage":        `echo "cannot connect to $CHIRP_DATABASE_URL"`,
		"timeout":        `echo "connecting to $CHIRP_DATABASE_URL" >&2; sleep 5`,
		// The secret straddles the start of the stderr kept for the message.
		"cut stderr": `printf %s "$CHIRP_DATABASE_URL" >&2; head -c 1030 /dev/zero | tr '\0' y >&2; exit 1`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := newProgram(t, body, func(c *exec.Config) {
				c.Secrets = map[string]string{"CHIRP_DATABASE_URL": secret}
				c.Timeout = 300 * time.Millisecond
			})
			err := p.Verify(t.Context(), target)
			if err == nil {
				t.Fatal("Verify succeeded, want an error")
			}
			for i := 0; i+6 <= len(secret); i++ {
				if piece := secret[i : i+6]; strings.Contains(err.Error(), piece) {
					t.Fatalf("error %q shows %q, a piece of the secret", err, piece)
				}
			}
			if name != "cut stderr" && !strings.Contains(err.Error(), "[secret CHIRP_DATABASE_URL]") {
				t.Errorf("error %q does not name the redacted secret", err)
			}
		})
	}
}

// TestVerifyBeforeWrite proves that Restore and Deprovision run nothing but
// verify when verify fails.
func TestVerifyBeforeWrite(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		code     string
		restore  error
		deprov   error
		wantRuns string
	}{
		{"not_owned", providers.ErrNotOwned, providers.ErrNotOwned, "verify verify"},
		{"not_synthetic", providers.ErrNotSynthetic, providers.ErrNotSynthetic, "verify verify"},
		{"not_found", providers.ErrNotFound, nil, "verify verify"},
		{"", nil, nil, "verify restore verify deprovision"},
	} {
		log := filepath.Join(t.TempDir(), "ops")
		p := newProgram(t, fmt.Sprintf(`in=$(cat)
op=$(printf '%%s' "$in" | sed 's/.*"op":"\([a-z]*\)".*/\1/')
printf '%%s ' "$op" >> "$LOG"
if [ "$op" = verify ] && [ -n "%s" ]; then echo '{"error":{"code":"%s","message":"no"}}'; else echo '{}'; fi`, tc.code, tc.code),
			func(c *exec.Config) { c.Env = map[string]string{"LOG": log} })
		err := p.Restore(t.Context(), target, providers.State(`{"cart":[]}`))
		if !errors.Is(err, tc.restore) || (tc.restore == nil) != (err == nil) {
			t.Errorf("Restore when verify says %q: %v, want %v", tc.code, err, tc.restore)
		}
		err = p.Deprovision(t.Context(), target)
		if !errors.Is(err, tc.deprov) || (tc.deprov == nil) != (err == nil) {
			t.Errorf("Deprovision when verify says %q: %v, want %v", tc.code, err, tc.deprov)
		}
		if b, _ := os.ReadFile(log); strings.TrimSpace(string(b)) != tc.wantRuns {
			t.Errorf("when verify says %q the program ran %q, want %q", tc.code, b, tc.wantRuns)
		}
	}
}

// TestRequestAndEnvironment is not parallel: it sets an environment
// variable of Understudy's that the program must not see.
func TestRequestAndEnvironment(t *testing.T) {
	t.Setenv("UNDERSTUDY_MASTER_KEY", "not-for-the-adapter")
	dir := t.TempDir()
	p := newProgram(t, `cat > "$OUT/request.json"; env > "$OUT/env"; pwd > "$OUT/pwd"; echo '{"ref":"7"}'`, func(c *exec.Config) {
		c.Command = append(c.Command, "--flag")
		c.Env = map[string]string{"OUT": dir, "CHIRP_MODE": "test"}
		c.Secrets = map[string]string{"CHIRP_DATABASE_URL": "postgres://secret"}
		c.Dir = dir
	})
	acct := providers.Account{ID: "acct-1", Email: "buyer@qa.example.test", Password: "pw"}
	provisioned, err := p.Provision(access.WithRequestID(t.Context(), "req-42"), acct)
	ref := provisioned.Ref
	if err != nil || ref != "7" {
		t.Fatalf("Provision = %q, %v; want \"7\"", ref, err)
	}
	var req struct {
		Op        string             `json:"op"`
		RequestID string             `json:"request_id"`
		Account   *providers.Account `json:"account"`
		Target    *providers.Target  `json:"target"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "request.json"))
	if err := json.Unmarshal(b, &req); err != nil || req.Op != "provision" || req.RequestID != "req-42" ||
		req.Account == nil || req.Account.Email != acct.Email || req.Target != nil {
		t.Errorf("request %s (%v), want op provision, request_id req-42 and the account", b, err)
	}
	env, _ := os.ReadFile(filepath.Join(dir, "env"))
	for _, want := range []string{"CHIRP_MODE=test", "CHIRP_DATABASE_URL=postgres://secret", "PATH="} {
		if !strings.Contains(string(env), want+"") {
			t.Errorf("the program's environment lacks %s:\n%s", want, env)
		}
	}
	if strings.Contains(string(env), "UNDERSTUDY_MASTER_KEY") {
		t.Errorf("the program inherited UNDERSTUDY_MASTER_KEY:\n%s", env)
	}
	if pwd, _ := os.ReadFile(filepath.Join(dir, "pwd")); strings.TrimSpace(string(pwd)) != dir {
		t.Errorf("the program ran in %s, want %s", pwd, dir)
	}

	p = newProgram(t, `cat > "$OUT/request.json"; echo '{}'`, func(c *exec.Config) { c.Env = map[string]string{"OUT": dir} })
	if err := p.Restore(t.Context(), target, providers.State(`{"cart":["sku-1"]}`)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	b, _ = os.ReadFile(filepath.Join(dir, "request.json"))
	if want := `{"op":"restore","request_id":"","target":{"ref":"42","account_id":"acct-1"},"state":{"cart":["sku-1"]}}`; string(b) != want {
		t.Errorf("restore request %s, want %s", b, want)
	}
}

// A run in a trace gets its context as TRACEPARENT and TRACESTATE, over
// settings.env's; outside a trace, settings.env's stands.
func TestTheTraceContextIsInTheEnvironment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := newProgram(t, `env > "$OUT/env"; echo '{}'`, func(c *exec.Config) {
		c.Env = map[string]string{"OUT": dir, "TRACEPARENT": "from-settings", "TRACESTATE": "settings=1"}
	})
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	ctx := tracing.Remote(t.Context(), tp, "vendor=opaque")
	for _, c := range []struct {
		ctx       context.Context
		want, not string
	}{
		{ctx, "TRACEPARENT=" + tp + "\nTRACESTATE=vendor=opaque", "settings"},
		{tracing.Remote(t.Context(), tp, ""), "TRACEPARENT=" + tp + "\nTRACESTATE=", "settings"},
		{t.Context(), "TRACEPARENT=from-settings\nTRACESTATE=settings=1", "opaque"},
	} {
		if err := p.Restore(c.ctx, target, providers.State(`{}`)); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		b, _ := os.ReadFile(filepath.Join(dir, "env"))
		env := string(b)
		for _, want := range strings.Split(c.want, "\n") {
			if !strings.Contains(env, want+"\n") {
				t.Errorf("the program's environment lacks %s:\n%s", want, env)
			}
		}
		if strings.Contains(env, c.not) {
			t.Errorf("the program's environment has %s:\n%s", c.not, env)
		}
	}
}

func TestSnapshotAndTest(t *testing.T) {
	t.Parallel()
	p := newProgram(t, `in=$(cat)
case "$in" in
*'"op":"test"'*) echo '{}' ;;
*'"op":"snapshot"'*) echo '{"state": {"cart": ["sku-1"]}}' ;;
*) echo '{"error":{"code":"invalid","message":"unknown op"}}' ;;
esac`, nil)
	s, err := p.Snapshot(t.Context(), target)
	if err != nil || string(s) != `{"cart": ["sku-1"]}` {
		t.Errorf("Snapshot = %s, %v; want the state", s, err)
	}
	if err := p.Test(t.Context()); err != nil {
		t.Errorf("Test: %v", err)
	}
	p = newProgram(t, `echo 'no database' >&2; exit 1`, nil)
	if err := p.Test(t.Context()); !errors.Is(err, providers.ErrUnavailable) || !strings.Contains(err.Error(), "testing shop") {
		t.Errorf("Test of a failing program: %v, want ErrUnavailable", err)
	}
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := script(t, `echo '{}'`)
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cmd := `"command":[` + q(good) + `]`
	cases := []struct {
		name, settings string
		secrets        map[string]string
		field          string
	}{
		{"no command", `{}`, nil, "settings.command"},
		{"empty command", `{"command":[]}`, nil, "settings.command"},
		{"missing program", `{"command":["/nonexistent/adapter"]}`, nil, "settings.command"},
		{"not in PATH", `{"command":["no-such-adapter-anywhere"]}`, nil, "settings.command"},
		{"not executable", `{"command":[` + q(plain) + `]}`, nil, "settings.command"},
		{"a directory", `{"command":[` + q(dir) + `]}`, nil, "settings.command"},
		{"command as a string", `{"command":` + q(good) + `}`, nil, "settings.command"},
		{"bad timeout", `{` + cmd + `,"timeout":"soon"}`, nil, "settings.timeout"},
		{"zero timeout", `{` + cmd + `,"timeout":"0s"}`, nil, "settings.timeout"},
		{"huge timeout", `{` + cmd + `,"timeout":"2h"}`, nil, "settings.timeout"},
		{"bad env name", `{` + cmd + `,"env":{"1X":"y"}}`, nil, "settings.env.1X"},
		{"missing dir", `{` + cmd + `,"dir":"/nonexistent/dir"}`, nil, "settings.dir"},
		{"unknown setting", `{` + cmd + `,"args":["x"]}`, nil, "settings.args"},
		{"bad secret name", `{` + cmd + `}`, map[string]string{"CHIRP-DSN": "x"}, "secrets.CHIRP-DSN"},
		{"secret also in env", `{` + cmd + `,"env":{"DSN":""}}`, map[string]string{"DSN": "x"}, "secrets.DSN"},
	}
	for _, tc := range cases {
		app, err := exec.Factory(t.Context(), providers.Config{App: "shop", Settings: json.RawMessage(tc.settings), Secrets: tc.secrets})
		ce, ok := errors.AsType[*providers.ConfigError](err)
		if app != nil || !ok || ce.Field != tc.field {
			t.Errorf("%s: Factory = %v, %v; want a ConfigError on %s", tc.name, app, err, tc.field)
		}
	}

	// A command found in PATH, and one relative to dir.
	for _, settings := range []string{
		`{"command":["sh","-c","echo {}"],"timeout":"2s"}`,
		`{"command":["./adapter"],"dir":` + q(filepath.Dir(good)) + `}`,
	} {
		app, err := exec.Factory(t.Context(), providers.Config{App: "shop", Settings: json.RawMessage(settings)})
		if err != nil {
			t.Errorf("Factory(%s): %v", settings, err)
			continue
		}
		if err := app.Verify(t.Context(), target); err != nil {
			t.Errorf("Verify with %s: %v", settings, err)
		}
	}
}

// The op "surface" answers the refs a real viewer sees; a program that
// does not show the surface says no_surface; an answer without refs is a
// broken program, not an empty surface.
func TestSurface(t *testing.T) {
	t.Parallel()
	p := newProgram(t, `read req
case "$req" in
  *'"surface":"leaderboards"'*) echo '{"refs":["42","7"]}' ;;
  *'"surface":"search"'*) echo '{}' ;;
  *) echo '{"error":{"code":"no_surface","message":"chirp has no such surface"}}' ;;
esac`, nil)
	refs, err := p.Surface(t.Context(), "leaderboards")
	if err != nil || strings.Join(refs, ",") != "42,7" {
		t.Fatalf("leaderboards: %v %v", refs, err)
	}
	if _, err := p.Surface(t.Context(), "search"); !errors.Is(err, providers.ErrProtocol) {
		t.Fatalf("an answer without refs: %v, want ErrProtocol", err)
	}
	if _, err := p.Surface(t.Context(), "trending"); !errors.Is(err, providers.ErrNoSurface) {
		t.Fatalf("an unknown surface: %v, want ErrNoSurface", err)
	}
}
