package isolation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/secret"
)

// countingDB counts the statements sent to the database.
type countingDB struct {
	pgdb.DB
	n atomic.Int64
}

func (c *countingDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	c.n.Add(1)
	return c.DB.Query(ctx, sql, args...)
}

func (c *countingDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	c.n.Add(1)
	return c.DB.QueryRow(ctx, sql, args...)
}

func (c *countingDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	c.n.Add(1)
	return c.DB.Exec(ctx, sql, args...)
}

func testKeyring(t *testing.T) *secret.Keyring {
	t.Helper()
	kr, err := secret.NewKeyring(make([]byte, secret.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newService(t *testing.T, db pgdb.DB) *isolation.Service {
	t.Helper()
	svc, err := isolation.New(isolation.Config{DB: db, Keyring: testKeyring(t), Now: func() time.Time { return time.Date(2026, 11, 25, 20, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestIsolationCheckOfAThousandSubjectsTakesTwoQueries(t *testing.T) {
	t.Parallel()
	st := domaintest.New(t, dbtest.Tx(t), 2)
	if _, err := st.Accounts.UpdateRole(st.Ctx, "production", "buyer", accounts.RoleChange{IsolationPolicy: map[string]accounts.Visibility{"search": accounts.TestersOnly}}); err != nil {
		t.Fatal(err)
	}
	accts, err := st.Accounts.ListAccounts(st.Ctx, accounts.AccountFilter{Environment: "production"})
	if err != nil || len(accts) != 2 {
		t.Fatalf("accounts: %v %d", err, len(accts))
	}
	subjects := make([]string, 0, 1000)
	for i := range 998 {
		subjects = append(subjects, fmt.Sprintf("real-%d", i))
	}
	subjects = append(subjects, accts[0].Identity.Email, accts[1].ID)
	db := &countingDB{DB: st.DB}
	res, err := newService(t, db).Check(st.Ctx, isolation.CheckRequest{Environment: "production", Surface: "search", Viewer: accts[0].Identity.Username, Subjects: subjects})
	if err != nil || len(res) != 1000 {
		t.Fatalf("Check: %v (%d results)", err, len(res))
	}
	if got := db.n.Load(); got != 2 {
		t.Fatalf("Check sent %d statements, want 2", got)
	}
	if res[0].Reason != isolation.ReasonNotSynthetic || res[998].Reason != isolation.ReasonSelf || !res[999].Visible || res[999].Reason != isolation.ReasonTestersSynthetic {
		t.Fatalf("results = %+v %+v %+v", res[0], res[998], res[999])
	}
	_, err = newService(t, db).Check(st.Ctx, isolation.CheckRequest{Environment: "production", Surface: "nope", Viewer: "v", Subjects: subjects[:1]})
	if e := domaintest.WantCode(t, err, understudy.EINVALID); len(e.Fields) != 1 || e.Fields[0].Field != "surface" {
		t.Fatalf("unknown surface: %+v", e)
	}
	_, err = newService(t, db).Check(st.Ctx, isolation.CheckRequest{Environment: "staging", Surface: "search", Viewer: "v", Subjects: subjects[:1]})
	domaintest.WantCode(t, err, understudy.ENOTFOUND)
}

func TestIsolationListInATransaction(t *testing.T) {
	t.Parallel()
	st := domaintest.New(t, dbtest.Tx(t), 2)
	svc := newService(t, st.DB)
	l, err := svc.List(st.Ctx, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := svc.Keys(st.Ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys: %v %d", err, len(keys))
	}
	if id, err := isolation.Verify(keys, l.SignatureHeader(), l.Body); err != nil || id != keys[0].KeyID {
		t.Fatalf("Verify: %q %v", id, err)
	}
	var body struct {
		Version    string `json:"version"`
		IssuedAt   string `json:"issued_at"`
		Identities []struct {
			IDs    []string          `json:"ids"`
			Role   string            `json:"role"`
			Policy map[string]string `json:"policy"`
		} `json:"identities"`
	}
	if err := json.Unmarshal(l.Body, &body); err != nil {
		t.Fatalf("%v: %s", err, l.Body)
	}
	// Each account: id, email, username and its chirp ref.
	if body.Version != l.Version || !regexp.MustCompile(`^[0-9]+-[0-9a-f]{12}$`).MatchString(l.Version) || body.IssuedAt != "2026-11-25T20:00:00Z" ||
		len(body.Identities) != 2 || len(body.Identities[0].IDs) != 4 || body.Identities[0].Policy["reviews"] != "hidden" || len(body.Identities[0].Policy) != 8 {
		t.Fatalf("list = %s", l.Body)
	}
	// The private key is sealed with the keyring (nonce, seed, tag), never stored raw.
	var sealedBy string
	var sealedLen int
	if err := st.DB.QueryRow(st.Ctx, `SELECT private_key_id, length(private_sealed) FROM isolation_keys WHERE key_id = $1`, keys[0].KeyID).Scan(&sealedBy, &sealedLen); err != nil ||
		sealedBy != testKeyring(t).PrimaryKeyID() || sealedLen != 12+32+16 {
		t.Fatalf("sealed key: %v %q %d", err, sealedBy, sealedLen)
	}
	// The version alone when the caller holds it.
	again, err := svc.List(st.Ctx, "production", func(v string) bool { return v == l.Version })
	if err != nil || again.Body != nil || again.Version != l.Version {
		t.Fatalf("unchanged: %+v %v", again, err)
	}
}
