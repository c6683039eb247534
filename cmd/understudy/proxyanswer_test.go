package main

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAnAnswerThatIsNoProblemIsDescribedNotEchoed: a proxy in front of the
// server that answers an error page of its own, repeating the request's
// headers (as some debugging proxies and load balancers do), has its page
// described by status and size; neither the page nor the token it repeats
// reaches the terminal, in any of the forms a page may repeat it in.
func TestAnAnswerThatIsNoProblemIsDescribedNotEchoed(t *testing.T) {
	t.Parallel()
	const token = "ust_PROXYECHOTESTTOKENNOTREAL0000000000000000000000000"
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprintf(w, "<html><body><h1>502 Bad Gateway</h1><pre>%s\n%s</pre></body></html>",
			r.Header.Get("Authorization"), base64.StdEncoding.EncodeToString([]byte(r.Header.Get("Authorization"))))
	}))
	defer proxy.Close()

	res := localCLI(t, map[string]string{"UNDERSTUDY_TOKEN": token}, "environments", "list", "--url", proxy.URL)
	mustFail(t, res, exitUnavailable, "HTTP 502 Bad Gateway with no problem document", "check UNDERSTUDY_URL")
	for _, leak := range []string{"<html", "Bad Gateway</h1>", token, base64.StdEncoding.EncodeToString([]byte("Bearer " + token))} {
		if strings.Contains(res.Stderr+res.Stdout, leak) {
			t.Errorf("the proxy's answer reached the terminal (%q):\n%s", leak, res.Stderr)
		}
	}
}
