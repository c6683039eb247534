package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
)

// Class counts one class of the fake's endpoints.
type Class struct {
	// Accepted are the requests answered 2xx; Throttled those answered 429.
	Accepted  int `json:"accepted"`
	Throttled int `json:"throttled"`
}

// counter is a reverse proxy in front of the fake PostHog that counts
// requests by the fake's rate-limit class: batch (/batch/, not limited),
// query (…/query/) and crud (the rest of the private API).
type counter struct {
	URL  string
	srv  *httptest.Server
	mu   sync.Mutex
	byCl map[string]*Class
}

func newCounter(target string) (*counter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	c := &counter{byCl: map[string]*Class{}}
	proxy := httputil.NewSingleHostReverseProxy(u)
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		proxy.ServeHTTP(rec, r)
		c.count(classOf(r.URL.Path), rec.status)
	}))
	c.URL = c.srv.URL
	return c, nil
}

func classOf(path string) string {
	switch {
	case strings.HasPrefix(path, "/batch"):
		return "batch"
	case strings.HasSuffix(strings.TrimRight(path, "/"), "/query"):
		return "query"
	case strings.HasPrefix(path, "/api/"):
		return "crud"
	}
	return "other"
}

func (c *counter) count(class string, status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl := c.byCl[class]
	if cl == nil {
		cl = &Class{}
		c.byCl[class] = cl
	}
	switch {
	case status == http.StatusTooManyRequests:
		cl.Throttled++
	case status >= 200 && status < 300:
		cl.Accepted++
	}
}

// Take returns the counts so far and starts again from zero.
func (c *counter) Take() map[string]Class {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]Class{}
	for k, v := range c.byCl {
		out[k] = *v
	}
	c.byCl = map[string]*Class{}
	return out
}

func (c *counter) Close() { c.srv.Close() }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}
