package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/openapi"
)

// signInThroughWalls shows chirp's sign-in walls passed from the inbox: an
// admin role is added to production (chirp enrols each admin in two-factor
// authentication when it is provisioned, and hands the secret back), then a
// leased buyer signs in with the code chirp mails to the server's SMTP
// receiver, and a leased admin with that code and its authenticator code.
func (d *session) signInThroughWalls(ctx context.Context, chirpAddr string) error {
	fmt.Fprintf(d.out, "\nchirp's sign-in walls: a code it mails after the password, and an authenticator code for admins:\n")
	r, err := d.c.CreateRoleWithResponse(ctx, "production", openapi.RoleCreate{Name: "admin"})
	if err := errorOf("creating role admin", statusOf(r), bodyOf(r), err); err != nil {
		return err
	}
	if err := d.waitProvisioned(ctx, len(environments)*len(roles)+1, false); err != nil {
		return err
	}
	for _, role := range []string{"buyer", "admin"} {
		if err := d.signInAs(ctx, chirpAddr, role); err != nil {
			return fmt.Errorf("signing in to chirp as the %s: %w", role, err)
		}
	}
	return nil
}

// signInAs leases the role's production account, signs in to chirp's pages
// through each wall chirp puts up, and releases the lease.
func (d *session) signInAs(ctx context.Context, chirpAddr, role string) (err error) {
	g, err := d.c.AcquireLeaseWithResponse(ctx, &openapi.AcquireLeaseParams{},
		openapi.LeaseRequest{Environment: "production", Role: role, Holder: "demo sign-in"})
	if err := errorOf("leasing the "+role, statusOf(g), bodyOf(g), err); err != nil {
		return err
	}
	lease := g.JSON201.Lease.Id
	defer func() {
		rel, rerr := d.c.ReleaseLeaseWithResponse(context.WithoutCancel(ctx), lease, openapi.ReleaseLeaseJSONRequestBody{})
		err = errors.Join(err, errorOf("releasing the lease", statusOf(rel), bodyOf(rel), rerr))
	}()
	b, err := newBrowser("http://" + chirpAddr)
	if err != nil {
		return err
	}
	step, err := b.post(ctx, "/login", url.Values{"email": {g.JSON201.Credentials.Email}, "password": {g.JSON201.Credentials.Password}})
	if err != nil {
		return err
	}
	mailed := time.Now()
	var walls []string
	if step == "/login/code" {
		c, err := d.c.GetLeaseCodeWithResponse(ctx, lease, &openapi.GetLeaseCodeParams{Wait: new("10s"), Subject: new("sign-in code")})
		if err := errorOf("waiting for chirp's mail", statusOf(c), bodyOf(c), err); err != nil {
			return err
		}
		if c.JSON200.Code == nil {
			return errors.New("chirp's mail carried no code")
		}
		walls = append(walls, fmt.Sprintf("the mailed code (in the lease's inbox %s after chirp sent it)", time.Since(mailed).Round(time.Millisecond)))
		if step, err = b.post(ctx, step, url.Values{"code": {*c.JSON200.Code}}); err != nil {
			return err
		}
	}
	if step == "/login/totp" {
		t, err := d.c.GetLeaseTOTPWithResponse(ctx, lease, &openapi.GetLeaseTOTPParams{App: new("chirp")})
		if err := errorOf("reading the authenticator code", statusOf(t), bodyOf(t), err); err != nil {
			return err
		}
		walls = append(walls, fmt.Sprintf("the authenticator code (%d digits, valid %d s more)", t.JSON200.Digits, t.JSON200.ValidFor))
		if step, err = b.post(ctx, step, url.Values{"code": {t.JSON200.Code}}); err != nil {
			return err
		}
	}
	if step != "/" {
		return fmt.Errorf("chirp did not sign the %s in: it sent the browser to %s", role, step)
	}
	fmt.Fprintf(d.out, "  production/%s signed in with the password, %s\n", role, strings.Join(walls, ", then "))
	return nil
}

// browser is a cookie-keeping HTTP client that posts chirp's forms and
// reports where chirp sends it next, as a browser would follow.
type browser struct {
	base string
	c    *http.Client
}

func newBrowser(base string) (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	return &browser{base: base, c: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// post posts form to path and returns the path chirp redirects to.
func (b *browser) post(ctx context.Context, path string, form url.Values) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("chirp answered %s to the form at %s", resp.Status, path)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", err
	}
	return loc.Path, nil
}
