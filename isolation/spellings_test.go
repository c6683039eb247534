package isolation_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/domaintest"
	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/isolation/client"
)

// spellings is the table isolation/client is tested against too
// (client/testdata/spellings.json): the server's check, its signed list
// and the client must agree on every spelling of an identifier.
type spellings struct {
	Listed    []string `json:"listed"`
	Spellings []struct {
		Name      string `json:"name"`
		Subject   string `json:"subject"`
		Synthetic bool   `json:"synthetic"`
	} `json:"spellings"`
}

func TestCheckAndSignedListMatchEverySpelling(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("client/testdata/spellings.json")
	if err != nil {
		t.Fatal(err)
	}
	var table spellings
	if err := json.Unmarshal(b, &table); err != nil || len(table.Listed) != 4 || len(table.Spellings) < 20 {
		t.Fatalf("spellings.json: %v, %d listed, %d spellings", err, len(table.Listed), len(table.Spellings))
	}
	st := domaintest.New(t, dbtest.Tx(t), 1)
	var acct string
	if err := st.DB.QueryRow(st.Ctx, `SELECT id::text FROM accounts`).Scan(&acct); err != nil {
		t.Fatal(err)
	}
	// The table's identifiers join the account's own on the list, through
	// the function the triggers call.
	for i, kind := range []string{"account_id", "email", "username", "app_ref"} {
		if _, err := st.DB.Exec(st.Ctx, `SELECT exclusion_add(environment_id, id, $2, $3, '') FROM accounts WHERE id = $1`, acct, table.Listed[i], kind); err != nil {
			t.Fatal(err)
		}
	}
	svc := newService(t, st.DB)

	subjects := make([]string, len(table.Spellings))
	for i, sp := range table.Spellings {
		subjects[i] = sp.Subject
	}
	res, err := svc.Check(st.Ctx, isolation.CheckRequest{Environment: "production", Surface: "leaderboards", Viewer: "real-viewer", Subjects: subjects})
	if err != nil || len(res) != len(subjects) {
		t.Fatalf("Check: %v, %d results", err, len(res))
	}
	for i, sp := range table.Spellings {
		want, reason := !sp.Synthetic, isolation.ReasonNotSynthetic
		if sp.Synthetic {
			reason = isolation.ReasonHidden
		}
		if res[i].Subject != sp.Subject || res[i].Visible != want || res[i].Reason != reason {
			t.Errorf("check, %s: %q = %+v, want visible %v, %s", sp.Name, sp.Subject, res[i], want, reason)
		}
		if !sp.Synthetic {
			continue
		}
		self, err := svc.Check(st.Ctx, isolation.CheckRequest{Environment: "production", Surface: "leaderboards", Viewer: sp.Subject, Subjects: []string{acct}})
		if err != nil || !self[0].Visible || self[0].Reason != isolation.ReasonSelf {
			t.Errorf("check, %s: viewer %q on its own account = %+v %v, want self", sp.Name, sp.Subject, self, err)
		}
	}

	// The signed list, held by the client, answers the same.
	c := clientOf(t, svc, st.Ctx)
	for i, sp := range table.Spellings {
		visible, reason := c.Decide("real-viewer", "leaderboards", sp.Subject)
		if visible != res[i].Visible || string(reason) != string(res[i].Reason) {
			t.Errorf("client, %s: %q = %v, %s; the server's check said %v, %s", sp.Name, sp.Subject, visible, reason, res[i].Visible, res[i].Reason)
		}
	}
}

// clientOf returns a client started on the signed list of production as
// svc writes it, the signing keys pinned.
func clientOf(t *testing.T, svc *isolation.Service, ctx context.Context) *client.Client {
	t.Helper()
	l, err := svc.List(ctx, "production", nil)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := svc.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pinned := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		pinned[k.KeyID] = k.PublicKey
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(client.SignatureHeader, l.SignatureHeader())
		_, _ = w.Write(l.Body)
	}))
	t.Cleanup(srv.Close)
	c, err := client.New(client.Config{BaseURL: srv.URL, Token: "t", Environment: "production", PublicKeys: pinned, RefreshInterval: 1 << 62})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	if err := c.Start(ctx); err != nil || c.Degraded() {
		t.Fatalf("client: %v, degraded %v: %+v", err, c.Degraded(), c.Stats())
	}
	return c
}

// A subject PostgreSQL cannot store is the caller's mistake, whatever door
// it came through.
func TestCheckOfTextTheDatabaseCannotStoreIsMalformed(t *testing.T) {
	t.Parallel()
	for _, subject := range []string{"a\x00b", "a\xffb"} {
		st := domaintest.New(t, dbtest.Tx(t), 1) // the failed statement ends its transaction
		_, err := newService(t, st.DB).Check(st.Ctx, isolation.CheckRequest{Environment: "production", Surface: "leaderboards", Viewer: "v", Subjects: []string{subject}})
		domaintest.WantCode(t, err, understudy.EMALFORMED)
	}
}
