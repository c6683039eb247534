package main

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// TestTokenAndIDBeforeTheDatabase checks the answers the peer gives
// without a query: a missing or wrong token is 401, a malformed id 404.
// The pool points nowhere: reaching it would fail the test with a 500.
func TestTokenAndIDBeforeTheDatabase(t *testing.T) {
	t.Parallel()
	pool, err := pgxpool.New(t.Context(), "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	h := newHandler(pool, "ust_secret")
	for _, tc := range []struct {
		auth, id string
		want     int
	}{
		{"", "x", http.StatusUnauthorized},
		{"Bearer ust_other", "x", http.StatusUnauthorized},
		{"Bearer ust_secre", "x", http.StatusUnauthorized},
		{"ust_secret", "x", http.StatusUnauthorized},
		{"Bearer ust_secret", "not-a-uuid", http.StatusNotFound},
	} {
		req := httptest.NewRequest(http.MethodGet, "/v1/accounts/"+tc.id, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("GET /v1/accounts/%s with %q = %d, want %d", tc.id, tc.auth, rec.Code, tc.want)
		}
	}
}
