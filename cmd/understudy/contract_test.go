package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/understudy-dev/understudy/openapi"
)

// contractChecker is an http.RoundTripper that validates every response
// against openapi.yaml (status, headers, body), failing the test on any
// response the contract does not allow.
type contractChecker struct {
	t      *testing.T
	router routers.Router
	next   http.RoundTripper
}

func newContractChecker(t *testing.T) *contractChecker {
	t.Helper()
	doc, err := openapi.Spec()
	if err != nil {
		t.Fatal(err)
	}
	doc.Servers = nil
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &contractChecker{t: t, router: router, next: http.DefaultTransport}
}

func (c *contractChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			c.t.Errorf("%s %s is not in openapi.yaml but answered %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		return resp, nil
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: resp.StatusCode, Header: resp.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		c.t.Errorf("%s %s → %d does not match openapi.yaml: %v\nbody: %s", req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	if resp.Header.Get(openapi.HeaderRequestID) == "" {
		c.t.Errorf("%s %s → %d has no %s header", req.Method, req.URL.Path, resp.StatusCode, openapi.HeaderRequestID)
	}
	return resp, nil
}

// client returns the generated client for s, authenticated with token,
// validating every response against the contract.
func (s *testServer) client(t *testing.T, token string) *openapi.ClientWithResponses {
	t.Helper()
	hc := &http.Client{Transport: newContractChecker(t)}
	c, err := openapi.NewClientWithResponses(s.URL, openapi.WithHTTPClient(hc),
		openapi.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// raw sends a hand-made request (for bodies the generated client cannot
// produce), validating the response against the contract.
func (s *testServer) raw(t *testing.T, token, method, path, contentType string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := (&http.Client{Transport: newContractChecker(t)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}
