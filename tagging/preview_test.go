package tagging_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/tagging"
)

func TestPreviewOfRedactsAndCuts(t *testing.T) {
	t.Parallel()
	const secret = "s3cret/key+1"
	body := `{"key":"` + secret + `","form":"s3cret%2Fkey%2B1","pad":"` + strings.Repeat("x", tagging.PreviewBodyLimit) + `"}`
	req, err := http.NewRequest(http.MethodPost, "https://vendor.test/batch?key="+secret, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(secret, "")
	req.Header.Set("X-Signature", "t=1,v1=abc")
	req.Header.Set("Content-Type", "application/json")
	pr, err := tagging.PreviewOf(tagging.PreviewMark, req, 3, []string{secret}, "X-Signature")
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf("… (%d bytes)", len(body))
	if pr.Header["Authorization"] != tagging.Redacted || pr.Header["X-Signature"] != tagging.Redacted || pr.Header["Content-Type"] != "application/json" {
		t.Errorf("headers %v", pr.Header)
	}
	if !strings.HasPrefix(pr.Body, `{"key":"[redacted]","form":"[redacted]","pad":"xx`) || !strings.HasSuffix(pr.Body, suffix) ||
		len(pr.Body) != tagging.PreviewBodyLimit+len(suffix) {
		t.Errorf("body %q… %q (%d bytes)", pr.Body[:60], pr.Body[len(pr.Body)-30:], len(pr.Body))
	}
	if strings.Contains(pr.URL+pr.Body, "s3cret") || pr.Identities != 3 || pr.Method != http.MethodPost {
		t.Errorf("preview %+v", pr)
	}
}
