package demo

import (
	"errors"
	"testing"

	"github.com/understudy-dev/understudy/openapi"
)

// The demo recreates databases named after the one DATABASE_URL names, so
// that two demos on one server, each given a database of its own, never drop
// each other's; with none named, or postgres, it keeps its fixed names.
func TestDatabaseNames(t *testing.T) {
	t.Parallel()
	for url, want := range map[string][2]string{
		"": {"understudy_demo", "chirp_demo"},
		"postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable":   {"understudy_demo", "chirp_demo"},
		"postgres://postgres@127.0.0.1:5432/rev18_1234?sslmode=disable": {"rev18_1234_demo", "rev18_1234_chirp"},
		"host=127.0.0.1 user=postgres dbname=qa sslmode=disable":        {"qa_demo", "qa_chirp"},
	} {
		if u, c := DatabaseNames(url); u != want[0] || c != want[1] {
			t.Errorf("DatabaseNames(%q) = %q, %q; want %q, %q", url, u, c, want[0], want[1])
		}
	}
}

// A call that failed returns a nil response with its error: the demo's
// steps read its status and body before looking at the error.
func TestStepsReadANilResponse(t *testing.T) {
	t.Parallel()
	var r *openapi.ListAccountsResponse
	if got := statusOf(r); got != 0 {
		t.Errorf("statusOf(nil) = %d, want 0", got)
	}
	if got := bodyOf(r); got != nil {
		t.Errorf("bodyOf(nil) = %q, want nil", got)
	}
	if err := errorOf("listing accounts", statusOf(r), bodyOf(r), errors.New("connection refused")); err == nil ||
		err.Error() != "listing accounts: connection refused" {
		t.Errorf("errorOf = %v, want the step and the transport error", err)
	}
}
