package inbox

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/secret"
)

// internalFixture is an inbox on a test transaction, with one buyer in
// production (its address accepted as r), called as an admin.
type internalFixture struct {
	ctx  context.Context
	tx   pgx.Tx
	kr   *secret.Keyring
	acc  *accounts.Service
	svc  *Service
	list []accounts.Account
	r    Recipient
}

func newInternalFixture(t *testing.T) internalFixture {
	t.Helper()
	f := internalFixture{tx: dbtest.Tx(t), ctx: access.WithCaller(context.Background(), access.Caller{Actor: "admin-1", Scope: access.ScopeAdmin})}
	f.kr, _ = secret.NewKeyring(make([]byte, secret.KeySize))
	var err error
	f.acc, err = accounts.New(accounts.Config{DB: f.tx, Keyring: f.kr, EmailDomains: []string{"qa.example.test"},
		OpenLeases: func(context.Context, pgdb.DB, []string) (map[string]accounts.OpenLease, error) { return nil, nil }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.CreateEnvironment(f.ctx, accounts.Environment{Name: "production", EmailDomains: []string{"qa.example.test"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.acc.CreateRole(f.ctx, "production", "buyer", accounts.RoleChange{}); err != nil {
		t.Fatal(err)
	}
	if f.list, err = f.acc.ListAccounts(f.ctx, accounts.AccountFilter{}); err != nil || len(f.list) != 1 {
		t.Fatalf("accounts: %v, %v", f.list, err)
	}
	if f.svc, err = New(Config{DB: f.tx, Keyring: f.kr, Accounts: f.acc}); err != nil {
		t.Fatal(err)
	}
	if f.r, err = f.svc.Accept(f.ctx, f.list[0].Identity.Email); err != nil {
		t.Fatal(err)
	}
	return f
}

const htmlMail = "From: Shop <no-reply@shop.example>\r\nSubject: Sign in\r\nMIME-Version: 1.0\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n\r\n" +
	"<html><head><title>Hidden title</title><style>p{color:red}</style></head><body>" +
	"<p style=\"color:#333;background:url(https://track.example/p.gif)\">Your sign-in code is <b>482913</b></p>" +
	"<script>alert(1)</script><img src=\"https://track.example/open.gif\"></body></html>\r\n"

// A stored body keeps the codes and links but not the text and the HTML,
// which are read again from the raw MIME when shown, the HTML sanitized;
// a body stored with them (the first deliveries') is shown as stored,
// sanitized too.
func TestStoredBodiesAreShownFromTheRawMIME(t *testing.T) {
	t.Parallel()
	f := newInternalFixture(t)
	ctx, tx, kr, svc, r := f.ctx, f.tx, f.kr, f.svc, f.r
	ids, err := svc.Receive(ctx, Delivery{Via: "https", Raw: []byte(htmlMail), Recipients: []Recipient{r}})
	if err != nil {
		t.Fatal(err)
	}
	var keyID string
	var sealed []byte
	if err := tx.QueryRow(ctx, `SELECT body_key_id, body_sealed FROM messages WHERE id = $1`, ids[0]).Scan(&keyID, &sealed); err != nil {
		t.Fatal(err)
	}
	plain, err := openSealed(kr, keyID, sealed, ids[0], "body")
	if err != nil {
		t.Fatal(err)
	}
	var stored Parsed
	if err := json.Unmarshal(plain, &stored); err != nil || stored.Text != "" || stored.HTML != "" || len(stored.Codes) == 0 || stored.Codes[0].Value != "482913" {
		t.Fatalf("stored body %+v, %v; want its codes without its text and HTML", stored, err)
	}
	shown := func(id string) Body {
		t.Helper()
		m, err := svc.Get(ctx, id, true)
		if err != nil || m.Body == nil {
			t.Fatalf("Get(%s): %+v, %v", id, m, err)
		}
		return *m.Body
	}
	b := shown(ids[0])
	if b.Text != "Your sign-in code is 482913" || !strings.Contains(b.HTML, "<b>482913</b>") {
		t.Errorf("shown body: text %q, html %q", b.Text, b.HTML)
	}
	for _, unsafe := range []string{"<script", "alert", "track.example", "<style", "Hidden title", "url("} {
		if strings.Contains(b.HTML, unsafe) {
			t.Errorf("shown HTML holds %q: %s", unsafe, b.HTML)
		}
	}
	// A body stored whole, as the first deliveries stored theirs.
	old := Parse([]byte(htmlMail), Patterns{})
	old.HTML = "<p onclick=\"x()\">Stored whole</p><script>alert(2)</script>"
	body, _ := json.Marshal(old)
	z, _ := compress([]byte(htmlMail))
	m := newRow(Delivery{Via: "https", Raw: []byte(htmlMail)}, r, old, r.box.EnvironmentID, "")
	b2 := &pgx.Batch{}
	if err := svc.queueInsert(ctx, b2, m, body, z); err != nil {
		t.Fatal(err)
	}
	if err := tx.SendBatch(ctx, b2).Close(); err != nil {
		t.Fatal(err)
	}
	if b := shown(m.id); b.HTML != "<p>Stored whole</p>" || b.Text != old.Text {
		t.Errorf("a body stored whole is shown as html %q, text %q", b.HTML, b.Text)
	}
}

// A listing reads at most MaxTextBytes of raw MIME again for its bodies'
// text and HTML (one message always): the older messages' bodies come
// without them, which Get reads; SkipTexts reads none, and keeps the codes.
func TestListingBoundsTheTextsItReads(t *testing.T) {
	t.Parallel()
	f := newInternalFixture(t)
	ctx, svc, r := f.ctx, f.svc, f.r
	filler := strings.Repeat("All work and no play makes a dull mail.\r\n", 3<<20/42)
	var ids []string
	for i := range 3 {
		raw := "Subject: Mail " + string(rune('a'+i)) + "\r\n\r\nYour code is 48291" + string(rune('0'+i)) + "\r\n" + filler
		got, err := svc.Receive(ctx, Delivery{Via: "https", Raw: []byte(raw), Recipients: []Recipient{r}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0])
	}
	msgs, err := svc.List(ctx, Filter{AccountID: r.AccountID, Bodies: true})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("List: %d, %v", len(msgs), err)
	}
	for i, m := range msgs { // newest first
		read := i < 2
		if m.Body == nil || (m.Body.Text != "") != read || m.Body.TextsOmitted == read || len(m.Body.Codes) == 0 {
			t.Errorf("message %d of the listing: texts read %v (omitted %v, codes %d), want read %v",
				i, m.Body != nil && m.Body.Text != "", m.Body != nil && m.Body.TextsOmitted, len(m.Body.Codes), read)
		}
	}
	if m, err := svc.Get(ctx, ids[0], true); err != nil || !strings.HasPrefix(m.Body.Text, "Your code is 482910") || m.Body.TextsOmitted {
		t.Errorf("Get of the oldest: %v, text %.20q", err, m.Body.Text)
	}
	msgs, err = svc.List(ctx, Filter{AccountID: r.AccountID, Bodies: true, SkipTexts: true})
	if err != nil || len(msgs) != 3 {
		t.Fatalf("List without texts: %d, %v", len(msgs), err)
	}
	for i, m := range msgs {
		if m.Body == nil || m.Body.Text != "" || m.Body.TextsOmitted || len(m.Body.Codes) == 0 || m.Subject != "Mail "+string(rune('c'-i)) {
			t.Errorf("message %d without texts: %+v", i, m.Body)
		}
	}
}
