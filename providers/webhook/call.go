package webhook

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mathrand "math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/webhook/signature"
	"github.com/understudy-dev/understudy/tracing"
)

// op is an operation of the contract, named as its path.
type op string

const (
	opProvision   op = "provision"
	opVerify      op = "verify"
	opSnapshot    op = "snapshot"
	opRestore     op = "restore"
	opDeprovision op = "deprovision"
	opSurface     op = "surface"
)

var ops = []op{opProvision, opVerify, opSnapshot, opRestore, opDeprovision, opSurface}

// writes carry an Idempotency-Key.
func (o op) write() bool { return o == opProvision || o == opRestore || o == opDeprovision }

const (
	userAgent     = "understudy-webhook/1"
	maxAnswer     = 32 << 20 // bytes; a snapshot's state can be large
	firstBackoff  = 250 * time.Millisecond
	maxBackoff    = 5 * time.Second
	maxRetryAfter = 30 * time.Second
)

// reply is one answer of the app.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// call POSTs in to o's endpoint, retrying as the package documentation
// says, and decodes a 2xx answer (a JSON object) into out, if not nil. Its
// errors wrap a providers sentinel, or are a *providers.ConfigError for a
// refused address.
//
// The call is a client span (webhook <op>) of the span ctx carries, and
// each attempt carries that span's trace context (traceparent, tracestate).
func (c *Client) call(ctx context.Context, o op, in, out any) (err error) {
	ctx, span := c.startSpan(ctx, o)
	var last reply
	attempts := 0
	defer func() { endSpan(span, attempts, last, err) }()
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encoding the request: %w", err)
	}
	var key string
	if o.write() {
		key = rand.Text() // one per call, the same on every retry
	}
	start := time.Now()
	for attempt := 1; ; attempt++ {
		r, err := c.attempt(ctx, o, body, key)
		last, attempts = r, attempt
		wait, retry := c.backoff(ctx, attempt, r, err)
		if !retry || attempt >= c.cfg.MaxAttempts {
			c.log(ctx, slog.LevelDebug, "webhook call", o, attempt, r, err, slog.Duration("duration", time.Since(start)))
			return c.outcome(ctx, attempt, r, err, out)
		}
		c.log(ctx, slog.LevelWarn, "webhook call failed, retrying", o, attempt, r, err, slog.Duration("wait", wait))
		if err := c.cfg.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("%w: waiting to retry after %s: %w", providers.ErrUnavailable, summary(r, err), err)
		}
	}
}

// attempt sends one signed request and reads the answer, within the
// attempt's timeout.
func (c *Client) attempt(ctx context.Context, o op, body []byte, key string) (reply, error) {
	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, c.urls[o], bytes.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set(signature.Header, signature.Sign(c.cfg.SigningSecret, c.cfg.Now(), body))
	if id := access.RequestID(ctx); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	tracing.Inject(ctx, req.Header)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := c.http.Do(req)
	if err == nil {
		defer resp.Body.Close()
		var b []byte
		if b, err = io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1)); err == nil {
			if len(b) > maxAnswer {
				return reply{}, fmt.Errorf("%w: the answer is larger than %d MiB", providers.ErrProtocol, maxAnswer>>20)
			}
			return reply{status: resp.StatusCode, header: resp.Header, body: b}, nil
		}
	}
	if ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		return reply{}, fmt.Errorf("no answer within %s (settings.timeout)", c.cfg.Timeout)
	}
	if ce, ok := errors.AsType[*providers.ConfigError](err); ok {
		return reply{}, ce // a refused address: the message names it
	}
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err // its message repeats the URL
	}
	return reply{}, err
}

// backoff says whether to retry after r or err, and how long to wait.
func (c *Client) backoff(ctx context.Context, attempt int, r reply, err error) (time.Duration, bool) {
	switch {
	case ctx.Err() != nil || errors.Is(err, providers.ErrProtocol):
		return 0, false
	case err != nil:
		if _, ok := errors.AsType[*providers.ConfigError](err); ok {
			return 0, false // a refused address stays refused
		}
		if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
			return 0, false
		}
	case r.status != http.StatusTooManyRequests && r.status != http.StatusBadGateway &&
		r.status != http.StatusServiceUnavailable && r.status != http.StatusGatewayTimeout:
		return 0, false
	default:
		if d, ok := retryAfter(r.header.Get("Retry-After"), c.cfg.Now()); ok {
			return d, true
		}
	}
	d := min(firstBackoff<<(attempt-1), maxBackoff)
	return d/2 + mathrand.N(d/2+1), true // "equal jitter"
}

// retryAfter parses a Retry-After header: seconds or an HTTP date, at most
// maxRetryAfter.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	if h == "" {
		return 0, false
	}
	if s, err := strconv.ParseUint(h, 10, 64); err == nil {
		return time.Duration(min(s, uint64(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(h); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// outcome turns the last attempt into the call's result.
func (c *Client) outcome(ctx context.Context, attempts int, r reply, err error, out any) error {
	after := ""
	if attempts > 1 {
		after = fmt.Sprintf(" (after %d attempts)", attempts)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("%w: %w", providers.ErrUnavailable, ctx.Err())
	case err != nil:
		if _, ok := errors.AsType[*providers.ConfigError](err); ok || errors.Is(err, providers.ErrProtocol) {
			return err
		}
		return fmt.Errorf("%w: %v%s", providers.ErrUnavailable, err, after)
	case r.status == http.StatusNoContent:
		return nil
	case r.status >= 200 && r.status <= 299:
		return decodeAnswer(r, out)
	}
	return r.failure(after)
}

// summary names the outcome of an attempt in a few words.
func summary(r reply, err error) string {
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("HTTP %d", r.status)
}

// log records an attempt; never a body, a header value or the secret.
func (c *Client) log(ctx context.Context, level slog.Level, msg string, o op, attempt int, r reply, err error, extra slog.Attr) {
	attrs := []slog.Attr{slog.String("app", c.cfg.App), slog.String("op", string(o)), slog.Int("attempt", attempt), extra}
	if id := access.RequestID(ctx); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	} else {
		attrs = append(attrs, slog.Int("status", r.status))
	}
	c.cfg.Logger.LogAttrs(ctx, level, msg, attrs...)
}
