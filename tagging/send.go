package tagging

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/access"
)

// Sender sends a vendor's requests: it retries 429 and 5xx answers (and
// connection errors) with jittered exponential backoff, honouring
// Retry-After (seconds or an HTTP date), reads every response body (vendors
// report errors inside a 200), turns 401/403 into ErrCredentials and other
// 4xx into ErrRejected, naming the vendor and the status, and never puts a
// secret in an error.
type Sender struct {
	// Vendor names the vendor in errors ("PostHog"). Required.
	Vendor string
	// Client sends the requests. Defaults to a client with a 30s timeout.
	// Its CheckRedirect is replaced: a redirect is followed only within
	// the first request's origin (see sameOrigin).
	Client *http.Client
	// Attempts is how many times a request is sent at most. Defaults to 5.
	Attempts int
	// MinWait and MaxWait bound the backoff between attempts when the
	// vendor says nothing (Retry-After wins, up to MaxWait). Default 1s, 60s.
	MinWait, MaxWait time.Duration
	// Sleep waits for d or until ctx is done. Defaults to a timer; tests
	// inject one that records the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now tells the time a Retry-After date and the context's deadline are
	// read against. Defaults to time.Now.
	Now func() time.Time
	// Secrets are scrubbed, in every form (see Scrubber), from every error.
	Secrets []string
	// Classify, when set, reads each answer that is not a 2xx before the
	// rules above: a vendor package passes the answers whose documented
	// body says more than the status (Amplitude's 429 says whether a user
	// is throttled for seconds or over a daily quota). A zero Verdict
	// leaves the answer to the rules above. The body is never kept: what
	// Classify puts in its error must be described, not copied, and is
	// scrubbed of the secrets like every error.
	Classify func(status int, header http.Header, body []byte) Verdict
}

// Verdict is a vendor package's reading of an answer (see Sender.Classify).
type Verdict struct {
	// Err is the answer's error; nil leaves the answer to the default rules.
	Err error
	// Retry sends the request again while attempts remain, after Wait, or
	// after what Retry-After asks (else the backoff) when Wait is 0;
	// without Retry, Err is returned at once.
	Retry bool
	Wait  time.Duration
}

// maxResponse is the most of a response body that is read.
const maxResponse = 4 << 20

// Response is a vendor's successful (2xx) answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends the request that build makes (called again for each attempt,
// so its body can be read again) and returns the 2xx answer. Errors:
// ErrCredentials (401, 403), ErrRejected (another 4xx), ErrUnavailable (429
// or 5xx or no answer, after the attempts), the context's error, or the
// error of Classify's Verdict.
func (s Sender) Do(ctx context.Context, build func(ctx context.Context) (*http.Request, error)) (Response, error) {
	attempts := max(s.Attempts, 1)
	if s.Attempts == 0 {
		attempts = 5
	}
	var last error
	for attempt := 1; ; attempt++ {
		req, err := build(ctx)
		if err != nil {
			return Response{}, err
		}
		if id := access.RequestID(ctx); id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		resp, wait, retry, err := s.once(req)
		if err == nil {
			return resp, nil
		}
		last = err
		if !retry || attempt >= attempts || ctx.Err() != nil {
			return Response{}, s.redact(last)
		}
		if serr := s.sleep(ctx, s.backoff(attempt, wait)); serr != nil {
			return Response{}, fmt.Errorf("%w (while waiting to retry: %v)", s.redact(last), serr)
		}
	}
}

// once sends req and classifies the answer; wait is the Retry-After the
// vendor asked for (0 when none), retry whether the request may be sent
// again.
func (s Sender) once(req *http.Request) (Response, time.Duration, bool, error) {
	resp, wait, v, err := s.send(req)
	if v.Err != nil {
		if v.Wait > 0 {
			wait = v.Wait
		}
		return Response{}, wait, v.Retry, v.Err
	}
	return resp, wait, errors.Is(err, ErrUnavailable), err
}

// send sends req and reads the answer by the default rules, after asking
// Classify: its Verdict is returned when it has an error.
func (s Sender) send(req *http.Request) (Response, time.Duration, Verdict, error) {
	client := http.Client{Timeout: 30 * time.Second}
	if s.Client != nil {
		client = *s.Client
	}
	client.CheckRedirect = sameOrigin
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, errRedirected) {
			return Response{}, 0, Verdict{}, fmt.Errorf("%w: %s answered with a redirect to another address: %v; "+
				"set the destination's URL to where the vendor answers", ErrRejected, s.Vendor, err)
		}
		if cerr := req.Context().Err(); cerr != nil {
			return Response{}, 0, Verdict{}, fmt.Errorf("%s did not answer in time: %w", s.Vendor, cerr)
		}
		return Response{}, 0, Verdict{}, fmt.Errorf("%w: %s did not answer: %v", ErrUnavailable, s.Vendor, err)
	}
	defer resp.Body.Close()
	var said string // what the vendor said, never its body as it is
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return Response{}, 0, Verdict{}, fmt.Errorf("%w: reading %s's answer: %v", ErrUnavailable, s.Vendor, err)
	}
	status := resp.StatusCode
	if s.Classify != nil && (status < 200 || status >= 300) {
		if v := s.Classify(status, resp.Header, body); v.Err != nil {
			return Response{}, retryAfter(resp.Header.Get("Retry-After"), s.now()), v, nil
		}
	}
	if status < 200 || status >= 300 {
		if answer := s.Scrubber().Answer(body); answer != "" {
			said = ": " + answer
		}
	}
	switch {
	case status >= 200 && status < 300:
		return Response{Status: status, Header: resp.Header, Body: body}, 0, Verdict{}, nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return Response{}, 0, Verdict{}, fmt.Errorf("%w: %s refused the credentials (%d)%s", ErrCredentials, s.Vendor, status, said)
	case status == http.StatusTooManyRequests || status >= 500:
		return Response{}, retryAfter(resp.Header.Get("Retry-After"), s.now()), Verdict{},
			fmt.Errorf("%w: %s answered %d%s", ErrUnavailable, s.Vendor, status, said)
	default:
		return Response{}, 0, Verdict{}, fmt.Errorf("%w: %s answered %d%s", ErrRejected, s.Vendor, status, said)
	}
}

// errRedirected refuses a redirect that leaves the request's origin.
var errRedirected = errors.New("not followed: only a redirect to the same scheme, host and port is")

// sameOrigin follows a redirect only to the origin (scheme, host and port)
// of the first request, at most 10 times. Go's client would follow any:
// with the body on 307 and 308 (where some vendors' keys travel) to any
// host, and with the Authorization header to the same host over http. A
// redirect elsewhere is never sent, so no key reaches another address nor
// crosses a network in cleartext.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 10:
		return errors.New("stopped after 10 redirects")
	case !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host):
		return errRedirected
	}
	return nil
}

// backoff is the wait before attempt+1: what the vendor asked for, else
// MinWait·2^(attempt-1) with full jitter, both capped at MaxWait.
func (s Sender) backoff(attempt int, asked time.Duration) time.Duration {
	lo := s.MinWait
	if lo <= 0 {
		lo = time.Second
	}
	hi := s.MaxWait
	if hi <= 0 {
		hi = 60 * time.Second
	}
	if asked > 0 {
		return min(asked, hi)
	}
	d := min(lo<<min(attempt-1, 20), hi)
	return lo/2 + rand.N(d-lo/2+1)
}

// sleep waits d before the next attempt. A wait that would end after
// ctx's deadline fails at once, saying so, instead of sleeping until the
// deadline and failing then: a vendor's rate limit may ask for minutes
// (Amplitude's throttle) or an hour (PostHog's hourly windows), and a run
// that cannot wait that long ends with the reason; the next run resumes
// after what was acknowledged.
func (s Sender) sleep(ctx context.Context, d time.Duration) error {
	if deadline, ok := ctx.Deadline(); ok {
		if left := deadline.Sub(s.now()); left < d {
			return fmt.Errorf("%s asks to pause %s before the next attempt, longer than the %s left before this run's deadline: "+
				"giving up, the next run resumes", s.Vendor, d, max(left, 0).Round(time.Second))
		}
	}
	if s.Sleep != nil {
		return s.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// now is the sender's clock.
func (s Sender) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

// Scrubber returns the Scrubber of the sender's secrets: what a vendor
// package passes any text of a vendor's answer through before it keeps it.
func (s Sender) Scrubber() *Scrubber { return NewScrubber(s.Secrets...) }

// redact scrubs the secrets from err's message, keeping what it wraps.
func (s Sender) redact(err error) error {
	msg := err.Error()
	if scrubbed := s.Scrubber().Scrub(msg); scrubbed != msg {
		return &redacted{msg: scrubbed, err: err}
	}
	return err
}

type redacted struct {
	msg string
	err error
}

func (r *redacted) Error() string { return r.msg }

// Unwrap returns the original error, so errors.Is and errors.As see all it
// wraps (a context error included); its message, with the secret, is never
// printed by the error chain's own Error.
func (r *redacted) Unwrap() error { return r.err }

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
