package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/understudy-dev/understudy/bench/internal/stack"
)

// peerPackage is the hand-written peer the HTTP phase is compared with.
const peerPackage = "github.com/understudy-dev/understudy/bench/peer"

// buildPeer builds the peer into dir with go build and returns its path.
func buildPeer(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "peer")
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, peerPackage)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building the peer (go build %s): %w: %s", peerPackage, err, strings.TrimSpace(stderr.String()))
	}
	return bin, nil
}

// startPeer starts the peer binary on the scratch database, accepting the
// runner's token, as the server does. Without -peer-bin it builds the peer
// into a temporary directory, kept while it runs (so a profiler can read
// its symbols) and removed by the returned cleanup, which is never nil.
func startPeer(ctx context.Context, cfg Config, dbURL, runnerSecret string, progress io.Writer) (*stack.Server, func(), error) {
	bin, cleanup := cfg.PeerBin, func() {}
	if bin == "" {
		dir, err := os.MkdirTemp("", "understudy-bench-peer-")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		if bin, err = buildPeer(ctx, dir); err != nil {
			return nil, cleanup, err
		}
	}
	p, err := stack.Start(ctx, stack.Command{
		Name: "the peer",
		Path: bin,
		Args: func(addr string) []string { return []string{"-addr", addr} },
		Env:  []string{"DATABASE_URL=" + dbURL, "PEER_TOKEN=" + runnerSecret},
	})
	if err != nil {
		return nil, cleanup, err
	}
	fmt.Fprintf(progress, "load: peer ready at %s (pid %d)\n", p.BaseURL, p.Pid())
	return p, cleanup, nil
}

// sameAnswer checks that the server and the peer answer GET
// /v1/accounts/{id} with the same document (decoded, so key order and
// spacing do not count): the phases must compare the same work.
func sameAnswer(ctx context.Context, serverURL, peerURL, secret, id string) error {
	var docs [2]any
	for i, base := range []string{serverURL, peerURL} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/accounts/"+id, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s/v1/accounts/%s: HTTP %d: %s (%v)", base, id, resp.StatusCode, raw, err)
		}
		if err := json.Unmarshal(raw, &docs[i]); err != nil {
			return fmt.Errorf("GET %s/v1/accounts/%s: %w", base, id, err)
		}
	}
	if !reflect.DeepEqual(docs[0], docs[1]) {
		return fmt.Errorf("the peer's account document differs from the server's:\nserver: %v\npeer:   %v", docs[0], docs[1])
	}
	return nil
}
