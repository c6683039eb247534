package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawHTTP sends request, written as it goes on the wire, to s and returns
// the status code of the answer.
func rawHTTP(t *testing.T, s *testServer, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer to %.80q: %v", request, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Headers are input too: an Idempotency-Key, a session cookie or a bearer
// token holding bytes that are not UTF-8 (HTTP lets a header carry them)
// or a NUL is the client's mistake, a 4xx naming it, never a 500.
func TestAttackHeadersTheDatabaseCannotStore(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	seed(t, s)
	body := `{"environment":"production","role":"buyer","holder":"ci"}`
	for _, tc := range []struct{ name, header string }{
		{"Idempotency-Key not UTF-8", "Idempotency-Key: k\xffk\r\nAuthorization: Bearer " + s.Runner},
		{"Idempotency-Key NUL", "Idempotency-Key: k\x00k\r\nAuthorization: Bearer " + s.Runner},
		{"bearer not UTF-8", "Authorization: Bearer us_\xff\xfe"},
		{"X-Request-ID not UTF-8", "X-Request-ID: r\xffr\r\nAuthorization: Bearer " + s.Runner + "\r\nIdempotency-Key: ok-key"},
	} {
		code, answer := rawHTTP(t, s, "POST /v1/leases HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+tc.header+
			"\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body)
		switch {
		case code < 400 && tc.name != "X-Request-ID not UTF-8" || code >= 500:
			t.Errorf("%s: %d, want a 4xx\n%.300s", tc.name, code, answer)
		case tc.name == "Idempotency-Key not UTF-8":
			// Refused at the door, naming the header, before any work.
			p := problemOf(t, code, []byte(answer), http.StatusBadRequest, "malformed")
			if fieldsOf(p)["Idempotency-Key"] != "holds bytes that are not UTF-8" {
				t.Errorf("%s: %s", tc.name, answer)
			}
		}
	}
	for _, cookie := range []string{"understudy_session=\xff\xfe", "understudy_session=a\x00b"} {
		code, answer := rawHTTP(t, s, "GET /ui/ HTTP/1.1\r\nHost: x\r\nCookie: "+cookie+"\r\nConnection: close\r\n\r\n")
		if code >= 500 {
			t.Errorf("cookie %q: %d\n%.300s", cookie, code, answer)
		}
	}
}

// A body of 100 MB, or JSON nested 100,000 deep, is refused at once,
// with or without a token, by the API and the console alike.
func TestAttackHugeAndDeepBodiesAreRefusedQuickly(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverOptions{})
	huge := func() io.Reader { return io.LimitReader(endless{}, 100<<20) }
	for _, tc := range []struct {
		name, path, token, contentType string
		body                           func() io.Reader
		want                           int
	}{
		{"100 MB to the API", "/v1/environments", s.Admin, "application/json", huge, http.StatusRequestEntityTooLarge},
		{"100 MB without a token", "/v1/environments", "", "application/json", huge, 0},
		{"100 MB to the console's sign-in", "/ui/signin", "", "application/x-www-form-urlencoded", huge, 0},
		{"100,000 nested arrays", "/v1/environments", s.Admin, "application/json",
			func() io.Reader {
				return strings.NewReader(strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000))
			}, http.StatusBadRequest},
		{"100,000 nested objects", "/v1/environments", s.Admin, "application/json",
			func() io.Reader {
				return strings.NewReader(strings.Repeat(`{"a":`, 100_000) + "1" + strings.Repeat("}", 100_000))
			}, http.StatusBadRequest},
		{"nested arrays in a field", "/v1/environments", s.Admin, "application/json",
			func() io.Reader {
				return strings.NewReader(`{"name":"x","email_domains":` + strings.Repeat("[", 50_000) + strings.Repeat("]", 50_000) + `}`)
			}, http.StatusBadRequest},
	} {
		start := time.Now()
		req, err := http.NewRequest(http.MethodPost, s.URL+tc.path, struct{ io.Reader }{tc.body()})
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = -1
		req.Header.Set("Content-Type", tc.contentType)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			// The server may close the connection once it has refused
			// the body, before the client has sent it all.
			t.Logf("%s: %v", tc.name, err)
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		switch {
		case resp.StatusCode >= 500 || resp.StatusCode < 400:
			t.Errorf("%s: %d\n%.300s", tc.name, resp.StatusCode, b)
		case tc.want != 0 && resp.StatusCode != tc.want:
			t.Errorf("%s: %d, want %d\n%.300s", tc.name, resp.StatusCode, tc.want, b)
		case took > 10*time.Second:
			t.Errorf("%s: took %s", tc.name, took)
		}
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a'
	}
	return len(p), nil
}
