package run_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/understudy-dev/understudy/run"
)

// The fake S3's credentials and region.
const (
	fakeS3Key    = "AKIDUNDERSTUDYTEST"
	fakeS3Secret = "understudy-test-secret-not-a-real-one"
	fakeS3Region = "us-east-1"
	fakeS3Bucket = "understudy-artifacts"
)

// newFakeS3 serves an S3-compatible store in process: gofakes3 (objects,
// multipart uploads, listings as the S3 API documents them:
// https://docs.aws.amazon.com/AmazonS3/latest/API/API_Operations_Amazon_Simple_Storage_Service.html)
// behind a check of each request's Signature Version 4, which gofakes3
// does not make and S3 does: a request that is not signed with the test's
// key is answered 403 with S3's error document (AccessDenied, or
// SignatureDoesNotMatch), as
// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-authenticating-requests.html
// and https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html
// say. The bucket fakeS3Bucket exists; the server stops when the test ends.
func newFakeS3(t *testing.T) *httptest.Server {
	t.Helper()
	backend := s3mem.New()
	if err := backend.CreateBucket(fakeS3Bucket); err != nil {
		t.Fatal(err)
	}
	faker := gofakes3.New(backend)
	srv := httptest.NewServer(requireSigV4(faker.Server()))
	t.Cleanup(srv.Close)
	return srv
}

// requireSigV4 answers 403 to a request whose Authorization header is not
// a valid SigV4 signature by fakeS3Key for service s3 in fakeS3Region.
func requireSigV4(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if code, msg := checkSigV4(r); code != "" {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkSigV4 signs again what r says it signed, and returns S3's error
// code and message when the signatures differ.
func checkSigV4(r *http.Request) (code, msg string) {
	algo, rest, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if algo != "AWS4-HMAC-SHA256" {
		return "AccessDenied", "Access Denied"
	}
	parts := map[string]string{}
	for _, p := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[0] != fakeS3Key || scope[2] != fakeS3Region || scope[3] != "s3" || scope[4] != "aws4_request" {
		return "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "AccessDenied", "X-Amz-Date is missing or malformed"
	}
	u, err := url.Parse("http://" + r.Host + r.RequestURI)
	if err != nil {
		return "AccessDenied", "the request URI cannot be read"
	}
	again := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		switch h {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
		default:
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	creds := aws.Credentials{AccessKeyID: fakeS3Key, SecretAccessKey: fakeS3Secret}
	signer := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	if err := signer.SignHTTP(context.Background(), creds, again, r.Header.Get("X-Amz-Content-Sha256"), "s3", fakeS3Region, at); err != nil {
		return "AccessDenied", err.Error()
	}
	if !strings.HasSuffix(again.Header.Get("Authorization"), "Signature="+parts["Signature"]) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
	}
	return "", ""
}

// s3BucketURL is the artifacts URL of the fake, through s3blob's URL
// parameters (gocloud.dev v0.49.0, s3blob.URLOpener and
// aws.V2ConfigFromURLParams): its endpoint, path-style addressing (the
// bucket in the path, not in the host name) and its region.
func s3BucketURL(srv *httptest.Server) string {
	q := url.Values{"endpoint": {srv.URL}, "use_path_style": {"true"}, "region": {fakeS3Region}}
	return "s3://" + fakeS3Bucket + "?" + q.Encode()
}

// useFakeS3Credentials points the AWS SDK at the fake's key through its
// environment variables, and away from a developer's own ~/.aws and from
// the EC2 metadata service.
func useFakeS3Credentials(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": fakeS3Key, "AWS_SECRET_ACCESS_KEY": fakeS3Secret, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
}

// Not parallel: the AWS SDK reads its credentials from the environment.
func TestArtifactsOnS3(t *testing.T) {
	useFakeS3Credentials(t)
	srv := newFakeS3(t)
	s := newArtifactSite(t, s3BucketURL(srv), run.ArtifactConfig{})
	exerciseArtifacts(t, s)
	// 10 MiB goes up in parts (a multipart upload) and comes back whole.
	big := make([]byte, run.MaxArtifactBytes)
	for i := range big {
		big[i] = byte(i * 7)
	}
	art, err := s.put(t, "video.webm", "video/webm", big)
	if err != nil {
		t.Fatalf("uploading 10 MiB: %v", err)
	}
	if _, b := s.read(t, s.lease1.Lease.ID, "video.webm"); art.SHA256 != sha256Hex(b) || len(b) != len(big) {
		t.Fatalf("10 MiB came back as %d bytes", len(b))
	}
}

// The fake refuses what S3 refuses: a request signed with another secret.
func TestTheFakeS3RefusesABadSignature(t *testing.T) {
	t.Parallel()
	srv := newFakeS3(t)
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/"+fakeS3Bucket+"?list-type=2", nil)
	empty := sha256.Sum256(nil)
	req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(empty[:]))
	now := time.Now()
	req.Header.Set("X-Amz-Date", now.UTC().Format("20060102T150405Z"))
	sign := func(secret string) int {
		creds := aws.Credentials{AccessKeyID: fakeS3Key, SecretAccessKey: secret}
		if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }).
			SignHTTP(context.Background(), creds, req, req.Header.Get("X-Amz-Content-Sha256"), "s3", fakeS3Region, now); err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := sign("wrong-secret"); got != http.StatusForbidden {
		t.Fatalf("a request signed with the wrong secret: %d, want 403", got)
	}
	if got := sign(fakeS3Secret); got != http.StatusOK {
		t.Fatalf("a request signed with the right secret: %d, want 200", got)
	}
	req.Header.Del("Authorization")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("an unsigned request: %v %v, want 403", resp, err)
	}
}
