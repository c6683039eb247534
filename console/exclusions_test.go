package console

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/tagging"
)

// riskySQL adds an account whose username and email start as spreadsheet
// formulas do.
const riskySQL = `
INSERT INTO accounts (environment_id, role_id, slot, generation, status, email, username, identity, password_key_id, password_sealed, password_rotated_at)
SELECT r.environment_id, r.id, 99, 0, 'ready', '@risky@qa.example.test', '=HYPERLINK("http://evil.example")', '{}', 'k', '\x00', now()
FROM roles r WHERE r.name = 'r000'`

// sessionOf signs a token of scope in and returns its session cookie.
func (f fixture) sessionOf(tb testing.TB, name string, scope access.Scope) *http.Cookie {
	tb.Helper()
	ctx := access.WithCaller(context.Background(), access.Caller{Actor: "test"})
	tok, _, err := access.NewTokens(f.db).Create(ctx, name, scope)
	if err != nil {
		tb.Fatal(err)
	}
	id, _, err := f.console.sessions.create(ctx, tok)
	if err != nil {
		tb.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookie, Value: id}
}

// A reader downloads an environment's exclusion list as CSV and as JSON:
// every identifier once, a named file with the list's version, a CSV
// header row, and CSV values that a spreadsheet would run as formulas
// made text, while the JSON keeps them exact.
func TestConsoleExclusionDownloadAsCSVAndJSON(t *testing.T) {
	t.Parallel()
	f := newFixture(t, 20)
	if _, err := f.db.Exec(context.Background(), riskySQL); err != nil {
		t.Fatal(err)
	}
	list, err := tagging.NewExclusions(f.db, nil).Get(context.Background(), "production")
	if err != nil || list.Size < 42 {
		t.Fatalf("list = %+v %v", list, err)
	}
	reader := f.sessionOf(t, "qa-lead", access.ScopeReader)
	download := func(format string) (*httptest.ResponseRecorder, string) {
		req := httptest.NewRequest(http.MethodGet, "/ui/environments/production/exclusions/"+format, nil)
		req.AddCookie(reader)
		rec := httptest.NewRecorder()
		f.console.ServeHTTP(rec, req)
		want := "attachment; filename=exclusions-production-v" + strconv.FormatInt(list.Version, 10) + "." + format
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Disposition") != want {
			t.Fatalf("GET %s: %d, Content-Disposition %q, want %q\n%s", format, rec.Code, rec.Header().Get("Content-Disposition"), want, rec.Body)
		}
		return rec, rec.Body.String()
	}

	rec, body := download("csv")
	if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("CSV Content-Type = %q", ct)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the CSV does not parse: %v", err)
	}
	if strings.Join(rows[0], ",") != "identifier,kind,source,account_id,version" || int64(len(rows)-1) != list.Size {
		t.Fatalf("CSV header %v and %d rows, want %d", rows[0], len(rows)-1, list.Size)
	}
	cells := map[string]string{}
	for _, r := range rows[1:] {
		cells[r[1]+":"+r[0]] = r[0]
	}
	for _, want := range []string{`username:'=HYPERLINK("http://evil.example")`, "email:'@risky@qa.example.test", "username:r000_1"} {
		if _, ok := cells[want]; !ok {
			t.Errorf("the CSV lacks %s", want)
		}
	}
	for _, r := range rows[1:] {
		if strings.ContainsAny(r[0][:1], "=+-@") {
			t.Errorf("CSV value %q starts as a formula", r[0])
		}
	}

	rec, body = download("json")
	var doc struct {
		tagging.List
		Items []tagging.Entry `json:"items"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("the JSON does not parse: %v\n%s", err, body)
	}
	if rec.Header().Get("Content-Type") != "application/json" || doc.Version != list.Version || doc.Environment != "production" || int64(len(doc.Items)) != list.Size {
		t.Fatalf("JSON: %s, version %d, %d items, want %d", rec.Header().Get("Content-Type"), doc.Version, len(doc.Items), list.Size)
	}
	exact := false
	for _, e := range doc.Items {
		exact = exact || e.Identifier == `=HYPERLINK("http://evil.example")`
	}
	if !exact {
		t.Error("the JSON does not carry the username exactly")
	}

	for path, want := range map[string]int{
		"/ui/environments/staging/exclusions/csv":    http.StatusNotFound,
		"/ui/environments/production/exclusions/xml": http.StatusNotFound,
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.AddCookie(reader)
		rec := httptest.NewRecorder()
		f.console.ServeHTTP(rec, req)
		if rec.Code != want || rec.Header().Get("Content-Disposition") != "" || !strings.Contains(rec.Body.String(), "class=\"flash") {
			t.Errorf("GET %s: %d, want %d with an error page", path, rec.Code, want)
		}
	}
	// Without a session: the sign-in page, no list.
	rec = httptest.NewRecorder()
	f.console.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/ui/environments/production/exclusions/csv", nil))
	if rec.Code != http.StatusSeeOther {
		t.Errorf("without a session: %d, want 303 to the sign-in page", rec.Code)
	}
}

// firstWrite records how many entries had been handed to the file when
// its first bytes reached the response, and how many bytes it got.
type firstWrite struct {
	entries *int
	at      int
	bytes   int
}

func (w *firstWrite) Write(b []byte) (int, error) {
	if w.bytes == 0 {
		w.at = *w.entries
	}
	w.bytes += len(b)
	return len(b), nil
}

// A large list goes out as it is read: the first bytes reach the
// response after a few hundred entries, not after the last, so the
// file never holds the list; and what it writes is the whole list.
func TestConsoleExclusionFileStreamsALargeList(t *testing.T) {
	t.Parallel()
	const n = 100_000
	for _, format := range []string{"csv", "json"} {
		entries := 0
		out := &firstWrite{entries: &entries}
		pr, pw := io.Pipe()
		counted := make(chan int, 1)
		go func() { counted <- countEntries(t, pr, format) }()
		file := newExclusionFile(io.MultiWriter(out, pw), format)
		if err := file.head(tagging.List{Environment: "production", Version: 7, Hash: strings.Repeat("0", 64), Size: n}); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			entries++
			if err := file.entry(tagging.Entry{Identifier: "user-" + strconv.Itoa(i) + "@qa.example.test", Kind: "email",
				AccountID: "8d3c7f0e-0000-4000-8000-000000000000", Version: 7}); err != nil {
				t.Fatal(err)
			}
		}
		if err := file.end(); err != nil {
			t.Fatal(err)
		}
		_ = pw.Close()
		if got := <-counted; got != n {
			t.Fatalf("%s: %d entries written, want %d", format, got, n)
		}
		if out.at == 0 || out.at > 1000 || out.bytes < 50*n {
			t.Fatalf("%s: the first write came after %d of %d entries (%d bytes in all): the file is not streamed", format, out.at, n, out.bytes)
		}
	}
}

// countEntries reads a downloaded list as it arrives and counts its
// entries (a streaming reader: the list is never whole in memory here
// either).
func countEntries(t *testing.T, r io.Reader, format string) int {
	n := 0
	if format == "csv" {
		cr := csv.NewReader(r)
		cr.ReuseRecord = true
		for {
			_, err := cr.Read()
			if err == io.EOF {
				return n - 1 // the header row
			}
			if err != nil {
				t.Errorf("reading the CSV: %v", err)
				return -1
			}
			n++
		}
	}
	dec := json.NewDecoder(r)
	for {
		tok, err := dec.Token()
		if err != nil {
			t.Errorf("reading the JSON: %v", err)
			return -1
		}
		if tok == "items" {
			break
		}
	}
	if _, err := dec.Token(); err != nil { // [
		t.Errorf("reading the JSON: %v", err)
		return -1
	}
	for dec.More() {
		var e tagging.Entry
		if err := dec.Decode(&e); err != nil {
			t.Errorf("reading the JSON: %v", err)
			return -1
		}
		n++
	}
	return n
}

// BenchmarkExclusionFile writes a list of 100,000 entries as CSV: its
// B/op stays what one entry costs times the entries, with no copy of the
// list held (go test -bench ExclusionFile -benchmem ./console).
func BenchmarkExclusionFile(b *testing.B) {
	for b.Loop() {
		file := newExclusionFile(io.Discard, "csv")
		_ = file.head(tagging.List{Environment: "production", Hash: strings.Repeat("0", 64)})
		for i := range 100_000 {
			_ = file.entry(tagging.Entry{Identifier: "user-" + strconv.Itoa(i), Kind: "username", AccountID: "a", Version: 1})
		}
		_ = file.end()
	}
}
