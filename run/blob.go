package run

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcp"
)

// BlobSchemes are the URL schemes an artifact bucket may have: a folder on
// the server's disk, Amazon S3 (or any S3-compatible store, through the
// endpoint and use_path_style parameters), and Google Cloud Storage.
var BlobSchemes = []string{fileblob.Scheme, s3blob.Scheme, gcsblob.Scheme}

// NewBlobMux returns the registry of the blob drivers artifacts may be kept
// in, each registered here by name rather than by an import's side effect:
// file:// (fileblob), s3:// (s3blob: credentials, region and endpoint from
// the URL's parameters and the AWS SDK's usual environment) and gs://
// (gcsblob: Application Default Credentials, found when a gs:// URL is
// first opened).
func NewBlobMux() *blob.URLMux {
	mux := new(blob.URLMux)
	mux.RegisterBucket(fileblob.Scheme, &fileblob.URLOpener{})
	mux.RegisterBucket(s3blob.Scheme, &s3blob.URLOpener{})
	mux.RegisterBucket(gcsblob.Scheme, &gcsOpener{})
	return mux
}

// OpenBucket opens the bucket rawURL names through NewBlobMux: a URL of
// another scheme, or with a parameter its driver does not know, is an
// error that says so. Opening a file:// or s3:// bucket reaches no service
// (the first read or write does); a gs:// one looks up Google's default
// credentials.
func OpenBucket(ctx context.Context, rawURL string) (*blob.Bucket, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("the artifacts URL is not a URL such as file:///var/lib/understudy/artifacts, s3://bucket?region=eu-west-1 or gs://bucket")
	}
	scheme := strings.ToLower(u.Scheme)
	known := false
	for _, s := range BlobSchemes {
		known = known || s == scheme
	}
	if !known {
		return nil, fmt.Errorf("the artifacts URL's scheme %q is not one of %s", u.Scheme, strings.Join(BlobSchemes, ", "))
	}
	b, err := NewBlobMux().OpenBucketURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("opening the artifacts bucket %s://%s: %w", scheme, u.Host, err)
	}
	return b, nil
}

// gcsOpener opens gs:// URLs with Application Default Credentials, looked
// up when the first gs:// URL is opened (never for a server that keeps its
// artifacts elsewhere); anonymous=true needs none.
type gcsOpener struct {
	once   sync.Once
	client *gcp.HTTPClient
	ts     gcp.TokenSource
	err    error
}

// OpenBucketURL implements blob.BucketURLOpener.
func (o *gcsOpener) OpenBucketURL(ctx context.Context, u *url.URL) (*blob.Bucket, error) {
	if anon, _ := strconv.ParseBool(u.Query().Get("anonymous")); anon {
		return (&gcsblob.URLOpener{}).OpenBucketURL(ctx, u)
	}
	o.once.Do(func() {
		creds, err := gcp.DefaultCredentials(ctx)
		if err != nil {
			o.err = fmt.Errorf("finding Google Cloud credentials (GOOGLE_APPLICATION_CREDENTIALS, or the metadata server): %w", err)
			return
		}
		o.ts = gcp.CredentialsTokenSource(creds)
		o.client, o.err = gcp.NewHTTPClient(gcp.DefaultTransport(), o.ts)
	})
	if o.err != nil {
		return nil, o.err
	}
	return (&gcsblob.URLOpener{Client: o.client, TokenSource: o.ts}).OpenBucketURL(ctx, u)
}

var _ blob.BucketURLOpener = (*gcsOpener)(nil)
