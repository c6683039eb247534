package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// fetched is one answer of the list endpoint.
type fetched struct {
	notModified bool
	body        []byte
	signature   string
	etag        string
}

// fetchList gets the list, sending etag (when not empty) as If-None-Match.
func (c *Client) fetchList(ctx context.Context, etag string) (fetched, error) {
	resp, err := c.get(ctx, c.listURL, etag)
	if err != nil {
		return fetched{}, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotModified:
		return fetched{notModified: true}, nil
	case http.StatusOK:
	default:
		return fetched{}, statusError(resp)
	}
	body, err := c.readBody(resp)
	if err != nil {
		return fetched{}, fmt.Errorf("reading the list: %w", err)
	}
	return fetched{
		body:      body,
		signature: resp.Header.Get(SignatureHeader),
		etag:      resp.Header.Get("ETag"),
	}, nil
}

// fetchKeys gets the server's trusted signing keys and the ids of those it
// marks retired.
func (c *Client) fetchKeys(ctx context.Context) (map[string]ed25519.PublicKey, []string, error) {
	resp, err := c.get(ctx, c.keysURL, "")
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, statusError(resp)
	}
	body, err := c.readBody(resp)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the keys: %w", err)
	}
	return parseKeys(body)
}

func (c *Client) get(ctx context.Context, url, etag string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("building GET %s: %w", url, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.cfg.Token)
	req.Header.Set("Accept", "application/json")
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	hc := *c.cfg.HTTPClient
	hc.CheckRedirect = sameOrigin
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", url, err)
	}
	return resp, nil
}

// sameOrigin follows a redirect only to the first request's scheme, host
// and port, at most 10 times: Go's client would carry the Authorization
// header to the same host over http, and the call to any other server.
func sameOrigin(req *http.Request, via []*http.Request) error {
	first := via[0].URL
	switch {
	case len(via) >= 10:
		return errors.New("stopped after 10 redirects")
	case !strings.EqualFold(req.URL.Scheme, first.Scheme) || !strings.EqualFold(req.URL.Host, first.Host):
		return fmt.Errorf("not following a redirect to %s://%s: only one to %s://%s is followed", req.URL.Scheme, req.URL.Host, first.Scheme, first.Host)
	}
	return nil
}

// readBody reads a 200 body up to MaxListBytes.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	limit := c.cfg.MaxListBytes
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= limit {
		buf.Grow(int(n))
	}
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, fmt.Errorf("body is larger than %d bytes", limit)
	}
	return buf.Bytes(), nil
}

// statusError describes an unexpected answer, with the start of its body
// (the server's problem details) to help whoever reads the log.
func statusError(resp *http.Response) error {
	detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	msg := strings.TrimSpace(string(detail))
	if msg == "" {
		return fmt.Errorf("GET %s: %s", resp.Request.URL, resp.Status)
	}
	return fmt.Errorf("GET %s: %s: %s", resp.Request.URL, resp.Status, msg)
}

// errRejected marks a list that arrived but was not accepted.
var errRejected = errors.New("list rejected")
