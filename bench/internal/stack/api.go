package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// API makes the set-up calls of a driver to the server, as JSON.
type API struct {
	base, auth string
	hc         *http.Client
}

// NewAPI returns a client of the server at baseURL that sends the token
// secret, with a generous timeout (set-up calls, not measured ones).
func NewAPI(baseURL, secret string) API {
	return API{base: baseURL, auth: "Bearer " + secret, hc: &http.Client{Timeout: 60 * time.Second}}
}

// Call sends body (if not nil) as JSON, checks the status is want and
// decodes the answer into out (if not nil).
func (a API) Call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", a.auth)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want {
		return fmt.Errorf("%s %s: HTTP %d, want %d: %s (%v)", method, path, resp.StatusCode, want, bytes.TrimSpace(raw), err)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
