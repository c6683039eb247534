package chirp_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// execute runs one exec request in-process and decodes the response.
func (e *env) execute(req any) chirp.ExecResponse {
	e.t.Helper()
	return decode[chirp.ExecResponse](e.t, []byte(e.executeRaw(req)))
}

// executeRaw runs one exec request in-process and returns its stdout.
func (e *env) executeRaw(req any) string {
	e.t.Helper()
	var in []byte
	if s, ok := req.(string); ok {
		in = []byte(s)
	} else {
		in = mustJSON(e.t, req)
	}
	var out bytes.Buffer
	if err := chirp.ServeExec(e.t.Context(), e.app, bytes.NewReader(in), &out); err != nil {
		e.t.Fatalf("ServeExec(%s): %v", in, err)
	}
	if !strings.HasSuffix(out.String(), "\n") || strings.Count(out.String(), "\n") != 1 {
		e.t.Fatalf("ServeExec wrote %q, want one JSON line", out.String())
	}
	return out.String()
}

func wantExecError(t *testing.T, what string, resp chirp.ExecResponse, code string) {
	t.Helper()
	if resp.Error == nil || resp.Error.Code != code || resp.Error.Message == "" || resp.Ref != "" || resp.State != nil {
		t.Fatalf("%s: response %+v (error %+v), want only an error with code %q", what, resp, resp.Error, code)
	}
}

func TestServeExecLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := account("acct-1")
	resp := e.execute(map[string]any{"op": "provision", "request_id": "r1", "account": acct})
	if resp.Error != nil || resp.Ref == "" {
		t.Fatalf("provision = %+v", resp)
	}
	ref := resp.Ref
	if again := e.execute(map[string]any{"op": "provision", "account": acct}); again.Ref != ref {
		t.Fatalf("provision twice gave %q and %q", ref, again.Ref)
	}
	tgt := target(ref, "acct-1")
	if out := e.executeRaw(map[string]any{"op": "verify", "target": tgt}); out != "{}\n" {
		t.Fatalf("verify = %q, want {}", out)
	}
	baseline := e.execute(map[string]any{"op": "snapshot", "target": tgt}).State
	if !bytes.HasPrefix(baseline, []byte(`{"version":1,`)) {
		t.Fatalf("snapshot state = %s", baseline)
	}
	id, _ := strconv.ParseInt(ref, 10, 64)
	e.post(id, "changed")
	if out := e.executeRaw(map[string]any{"op": "restore", "target": tgt, "state": baseline}); out != "{}\n" {
		t.Fatalf("restore = %q, want {}", out)
	}
	if got := e.execute(map[string]any{"op": "snapshot", "target": tgt}).State; !bytes.Equal(got, baseline) {
		t.Fatalf("state after restore = %s, want %s", got, baseline)
	}
	if out := e.executeRaw(`{"op":"test","request_id":"r2"}`); out != "{}\n" {
		t.Fatalf("test = %q, want {}", out)
	}
	for range 2 {
		if out := e.executeRaw(map[string]any{"op": "deprovision", "target": tgt}); out != "{}\n" {
			t.Fatalf("deprovision = %q, want {}", out)
		}
	}
	wantExecError(t, "verify after deprovision", e.execute(map[string]any{"op": "verify", "target": tgt}), "not_found")
}

func TestServeExecErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ref := e.provision("acct-1")
	realRef := strconv.FormatInt(e.user("rita", false).ID, 10)
	taken := account("acct-2")
	taken.Username = account("acct-1").Username
	for _, c := range []struct {
		name string
		req  any
		code string
	}{
		{"not JSON", "{op", "invalid"},
		{"empty stdin", "", "invalid"},
		{"unknown op", `{"op":"explode"}`, "invalid"},
		{"provision without account", `{"op":"provision"}`, "invalid"},
		{"verify without target", `{"op":"verify"}`, "invalid"},
		{"restore without state", map[string]any{"op": "restore", "target": target(ref, "acct-1")}, "invalid"},
		{"verify of a real user", map[string]any{"op": "verify", "target": target(realRef, "acct-1")}, "not_synthetic"},
		{"restore of a real user", map[string]any{"op": "restore", "target": target(realRef, "acct-1"), "state": map[string]int{"version": 1}}, "not_synthetic"},
		{"snapshot by another account", map[string]any{"op": "snapshot", "target": target(ref, "acct-2")}, "not_owned"},
		{"restore of junk", map[string]any{"op": "restore", "target": target(ref, "acct-1"), "state": []int{1}}, "refused"},
		{"provision of a taken username", map[string]any{"op": "provision", "account": taken}, "refused"},
		{"verify of nobody", map[string]any{"op": "verify", "target": target("424242", "acct-1")}, "not_found"},
	} {
		wantExecError(t, c.name, e.execute(c.req), c.code)
	}
}

func TestServeExecDatabaseDown(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(context.Background(), "postgres://nobody@127.0.0.1:1/chirp?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	app, err := chirp.New(chirp.Config{DB: pool})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, app: app, pool: pool}
	for _, req := range []string{
		`{"op":"test"}`,
		`{"op":"verify","target":{"ref":"1","account_id":"acct-1"}}`,
		`{"op":"provision","account":{"id":"acct-1","username":"u","email":"u@example.com","display_name":"U"}}`,
	} {
		wantExecError(t, req+" with the database down", e.execute(req), "unavailable")
	}
}
