package chirp_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/examples/chirp"
)

// browser is a client of chirp's pages that keeps the session cookie by
// hand and does not follow redirects, so a test sees each answer.
type browser struct {
	e       *env
	session string
	pending string // the pending sign-in cookie, kept as the answers set it
}

// page is one answer of the pages.
type page struct {
	status   int
	location string
	body     string
	cookie   *http.Cookie // the session cookie the answer set, if any
	signIn   *http.Cookie // the pending sign-in cookie the answer set, if any
}

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.e.t.Context(), method, b.e.srv.URL+path, body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if b.session != "" {
		req.AddCookie(&http.Cookie{Name: chirp.SessionCookie, Value: b.session})
	}
	if b.pending != "" {
		req.AddCookie(&http.Cookie{Name: chirp.SignInCookie, Value: b.pending})
	}
	client := *b.e.srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatal(err)
	}
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(out)}
	for _, c := range resp.Cookies() {
		switch c.Name {
		case chirp.SessionCookie:
			p.cookie = c
		case chirp.SignInCookie:
			p.signIn, b.pending = c, c.Value
		}
	}
	return p
}

// signIn posts the sign-in form and returns the answer; on success the
// browser keeps the session.
func (b *browser) signIn(email, password string) page {
	b.e.t.Helper()
	p := b.do("POST", "/login", url.Values{"email": {email}, "password": {password}})
	if p.status == http.StatusSeeOther && p.cookie != nil {
		b.session = p.cookie.Value
	}
	return p
}

// home gets the home page and fails unless it is shown.
func (b *browser) home() page {
	b.e.t.Helper()
	p := b.do("GET", "/", nil)
	if p.status != http.StatusOK {
		b.e.t.Fatalf("GET / = %d (location %q), want 200", p.status, p.location)
	}
	return p
}

// testID returns the text of every element with data-testid id whose
// content is plain text.
func (p page) testID(id string) []string {
	re := regexp.MustCompile(`data-testid="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(p.body, -1) {
		out = append(out, m[1])
	}
	return out
}

var leaderboardRow = regexp.MustCompile(`data-testid="leaderboard-entry" data-user-id="(\d+)"[^>]*><td>(\d+)</td><td data-testid="leaderboard-user">@([^<]*)</td><td data-testid="leaderboard-points">(\d+)</td>`)

// leaderboard returns the leaderboard as the page shows it, "rank @user points".
func (p page) leaderboard() []string {
	var out []string
	for _, m := range leaderboardRow.FindAllStringSubmatch(p.body, -1) {
		out = append(out, fmt.Sprintf("%s @%s %s", m[2], m[3], m[4]))
	}
	return out
}

// provisionWithPassword provisions account id with password and returns
// the account.
func (e *env) provisionWithPassword(id, password string) string {
	e.t.Helper()
	acct := account(id)
	acct.Password = password
	if _, err := e.app.ProvisionUser(e.t.Context(), acct); err != nil {
		e.t.Fatalf("ProvisionUser(%s): %v", id, err)
	}
	return acct.Email
}

func TestSignInChecksTheProvisionedPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.provisionWithPassword("acct-1", "Correct-horse-1")
	b := &browser{e: e}

	if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("GET / signed out = %d to %q, want 303 to /login", p.status, p.location)
	}
	if p := b.do("GET", "/login", nil); p.status != http.StatusOK || !strings.Contains(p.body, `<label for="password">Password</label>`) {
		t.Fatalf("GET /login = %d:\n%s", p.status, p.body)
	}
	for _, c := range []struct{ email, password string }{
		{email, "Correct-horse-2"},
		{email, ""},
		{"nobody@synthetic.example.com", "Correct-horse-1"},
	} {
		p := b.signIn(c.email, c.password)
		if p.status != http.StatusUnauthorized || p.cookie != nil || len(p.testID("error")) != 1 ||
			p.testID("error")[0] != "Wrong email or password." {
			t.Fatalf("signing in as %q with a wrong password = %d, cookie %v, errors %q", c.email, p.status, p.cookie, p.testID("error"))
		}
		if strings.Contains(p.body, c.password) && c.password != "" {
			t.Fatal("the sign-in page shows the password back")
		}
	}

	p := b.signIn(email, "Correct-horse-1")
	if p.status != http.StatusSeeOther || p.location != "/" || p.cookie == nil {
		t.Fatalf("signing in = %d to %q, cookie %v", p.status, p.location, p.cookie)
	}
	if !p.cookie.HttpOnly || p.cookie.SameSite != http.SameSiteLaxMode || p.cookie.Path != "/" || p.cookie.MaxAge <= 0 {
		t.Fatalf("session cookie %+v, want HttpOnly, SameSite=Lax, Path=/ and a max age", p.cookie)
	}
	if got := b.home().testID("viewer"); len(got) != 1 || got[0] != "Signed in as @understudy-acct-1" {
		t.Fatalf("viewer = %q", got)
	}
	if p := b.do("GET", "/login", nil); p.status != http.StatusSeeOther || p.location != "/" {
		t.Fatalf("GET /login signed in = %d to %q, want 303 to /", p.status, p.location)
	}
}

func TestProvisioningAgainReplacesThePassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.provisionWithPassword("acct-1", "First-password-1")
	e.provisionWithPassword("acct-1", "Rotated-password-2") // what Understudy does after a rotation
	b := &browser{e: e}
	if p := b.signIn(email, "First-password-1"); p.status != http.StatusUnauthorized {
		t.Fatalf("the old password still signs in: %d", p.status)
	}
	if p := b.signIn(email, "Rotated-password-2"); p.status != http.StatusSeeOther {
		t.Fatalf("the new password does not sign in: %d", p.status)
	}
	// Provisioning again without a password keeps the one there is.
	if _, err := e.app.ProvisionUser(t.Context(), account("acct-1")); err != nil {
		t.Fatal(err)
	}
	if p := (&browser{e: e}).signIn(email, "Rotated-password-2"); p.status != http.StatusSeeOther {
		t.Fatalf("provisioning without a password lost it: %d", p.status)
	}
	// A user who never got a password cannot sign in, with any.
	real := e.user("ada", false)
	if p := (&browser{e: e}).signIn(real.Email, ""); p.status != http.StatusUnauthorized {
		t.Fatalf("a user without a password signed in: %d", p.status)
	}
}

func TestHomePagePostsAndShowsFeedAndLeaderboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.provisionWithPassword("acct-1", "Buyer-password-1")
	other := e.provision("acct-2") // another tester, already on the board
	if err := e.app.AddPoints(t.Context(), mustID(t, other), 5); err != nil {
		t.Fatal(err)
	}
	real := e.user("ada", false) // a real user with more points than anyone: never on a tester's board
	if err := e.app.AddPoints(t.Context(), real.ID, 1000); err != nil {
		t.Fatal(err)
	}
	b := &browser{e: e}
	b.signIn(email, "Buyer-password-1")

	home := b.home()
	if got := home.testID("post-count"); fmt.Sprint(got) != "[0]" {
		t.Fatalf("post count before posting = %q, want [0]", got)
	}
	if got := home.testID("feed-empty"); len(got) != 1 {
		t.Fatalf("a new account's feed is not empty:\n%s", home.body)
	}
	if got, want := home.leaderboard(), []string{"1 @understudy-acct-2 5", "2 @understudy-acct-1 0"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("leaderboard before posting = %q, want %q", got, want)
	}

	if p := b.do("POST", "/posts", url.Values{"body": {"Hello from <the> understudy"}}); p.status != http.StatusSeeOther || p.location != "/" {
		t.Fatalf("posting = %d to %q, want 303 to /", p.status, p.location)
	}
	home = b.home()
	if got := home.testID("post-body"); fmt.Sprint(got) != "[Hello from &lt;the&gt; understudy]" {
		t.Fatalf("feed bodies = %q, want the post, escaped", got)
	}
	if got := home.testID("author"); fmt.Sprint(got) != "[@understudy-acct-1]" {
		t.Fatalf("feed authors = %q", got)
	}
	if got := home.testID("points"); fmt.Sprint(got) != fmt.Sprintf("[%d]", chirp.PostPoints) {
		t.Fatalf("points = %q, want [%d]", got, chirp.PostPoints)
	}
	want := []string{fmt.Sprintf("1 @understudy-acct-1 %d", chirp.PostPoints), "2 @understudy-acct-2 5"}
	if got := home.leaderboard(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("leaderboard after posting = %q, want %q", got, want)
	}
	if !strings.Contains(home.body, `data-user-id="`+e.refOf("acct-1")+`" aria-current="true"`) {
		t.Fatal("the viewer's own row is not marked as current")
	}

	p := b.do("POST", "/posts", url.Values{"body": {"   "}})
	if p.status != http.StatusUnprocessableEntity || len(p.testID("error")) != 1 {
		t.Fatalf("a blank post = %d, errors %q", p.status, p.testID("error"))
	}
}

func TestSignOutEndsTheSession(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.provisionWithPassword("acct-1", "Buyer-password-1")
	b := &browser{e: e}
	b.signIn(email, "Buyer-password-1")
	token := b.session
	p := b.do("POST", "/logout", url.Values{})
	if p.status != http.StatusSeeOther || p.location != "/login" || p.cookie == nil || p.cookie.MaxAge >= 0 {
		t.Fatalf("signing out = %d to %q, cookie %+v", p.status, p.location, p.cookie)
	}
	b.session = token // a browser that kept the cookie anyway
	if p := b.do("GET", "/", nil); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("GET / with an ended session = %d to %q, want 303 to /login", p.status, p.location)
	}
	if p := b.do("POST", "/posts", url.Values{"body": {"hi"}}); p.status != http.StatusSeeOther || p.location != "/login" {
		t.Fatalf("posting with an ended session = %d to %q, want 303 to /login", p.status, p.location)
	}
}

func TestFormsRefuseCrossOriginPosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.provisionWithPassword("acct-1", "Buyer-password-1")
	b := &browser{e: e}
	p := b.do("POST", "/login", url.Values{"email": {email}, "password": {"Buyer-password-1"}}, "Sec-Fetch-Site", "cross-site")
	if p.status != http.StatusForbidden || p.cookie != nil {
		t.Fatalf("a cross-site sign-in = %d, cookie %v, want 403", p.status, p.cookie)
	}
	b.signIn(email, "Buyer-password-1")
	if p := b.do("POST", "/posts", url.Values{"body": {"forged"}}, "Origin", "https://evil.example.com"); p.status != http.StatusForbidden {
		t.Fatalf("a cross-origin post = %d, want 403", p.status)
	}
	if got := b.home().testID("post-count"); fmt.Sprint(got) != "[0]" {
		t.Fatalf("post count after a refused post = %q, want [0]", got)
	}
}

func TestAResetKeepsThePasswordAndClearsThePosts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	email := e.provisionWithPassword("acct-1", "Buyer-password-1")
	ref := e.refOf("acct-1")
	baseline := e.snapshot(ref, "acct-1")
	b := &browser{e: e}
	b.signIn(email, "Buyer-password-1")
	b.do("POST", "/posts", url.Values{"body": {"before the reset"}})
	if err := e.app.RestoreUser(t.Context(), target(ref, "acct-1"), baseline); err != nil {
		t.Fatal(err)
	}
	again := &browser{e: e}
	if p := again.signIn(email, "Buyer-password-1"); p.status != http.StatusSeeOther {
		t.Fatalf("signing in after a reset = %d", p.status)
	}
	home := again.home()
	if got := home.testID("post-count"); fmt.Sprint(got) != "[0]" {
		t.Fatalf("post count after a reset = %q, want [0]", got)
	}
	if got := home.testID("points"); fmt.Sprint(got) != "[0]" {
		t.Fatalf("points after a reset = %q, want [0]", got)
	}
}

// refOf returns the ref of the user provisioned for account id.
func (e *env) refOf(id string) string {
	e.t.Helper()
	ref, err := e.app.ProvisionUser(e.t.Context(), account(id))
	if err != nil {
		e.t.Fatal(err)
	}
	return ref
}

func mustID(t *testing.T, ref string) int64 {
	t.Helper()
	var id int64
	if _, err := fmt.Sscan(ref, &id); err != nil {
		t.Fatalf("ref %q: %v", ref, err)
	}
	return id
}
