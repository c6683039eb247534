package access_test

import (
	"testing"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// A token's creation and revocation take the store's clock; without one,
// the database's.
func TestTokensTakeTheirTimesFromTheirClock(t *testing.T) {
	tx := dbtest.Tx(t)
	ctx := access.WithCaller(t.Context(), access.Caller{Actor: "test"})
	at := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	tokens := access.NewCachedTokens(tx, time.Minute)
	tokens.Now = func() time.Time { return at }
	tok, secret, err := tokens.Create(ctx, "clocked", access.ScopeReader)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.CreatedAt.Equal(at) {
		t.Errorf("created at %v, want the clock's %v", tok.CreatedAt, at)
	}
	if _, err := tokens.Authenticate(ctx, secret); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Hour)
	revoked, err := tokens.Revoke(ctx, tok.ID)
	if err != nil {
		t.Fatal(err)
	}
	if revoked.RevokedAt == nil || !revoked.RevokedAt.Equal(at) {
		t.Errorf("revoked at %v, want the clock's %v", revoked.RevokedAt, at)
	}
	if _, err := tokens.Authenticate(ctx, secret); err == nil {
		t.Error("a revoked token still authenticates")
	}

	var dbNow time.Time
	if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&dbNow); err != nil {
		t.Fatal(err)
	}
	tokens.Now = nil
	tok, _, err = tokens.Create(ctx, "unclocked", access.ScopeReader)
	if err != nil {
		t.Fatal(err)
	}
	if !tok.CreatedAt.Equal(dbNow) {
		t.Errorf("without a clock, created at %v, want the database's %v", tok.CreatedAt, dbNow)
	}
}
