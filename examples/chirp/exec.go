package chirp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
)

// ExecRequest is the one request that Understudy's exec provider writes to
// the adapter's stdin.
type ExecRequest struct {
	// Op is provision, verify, snapshot, restore, deprovision or test.
	Op        string `json:"op"`
	RequestID string `json:"request_id"`
	// Account is provision's.
	Account *providers.Account `json:"account,omitempty"`
	// Target is that of verify, snapshot, restore and deprovision.
	Target *providers.Target `json:"target,omitempty"`
	// State is restore's.
	State json.RawMessage `json:"state,omitempty"`
	// Surface is surface's: the users a real viewer sees there, for the
	// isolation audit.
	Surface string `json:"surface,omitempty"`
}

// ExecResponse is the one response the adapter writes to stdout: {"ref"}
// (and "totp_uri" for a user with an authenticator) for provision, {"state"} for snapshot, {} for the other operations, or
// {"error"}.
type ExecResponse struct {
	Ref string `json:"ref,omitempty"`
	// TOTPURI is provision's otpauth:// URI of the user's TOTP secret, as
	// in the webhook contract; absent for a user without one.
	TOTPURI string          `json:"totp_uri,omitempty"`
	State   json.RawMessage `json:"state,omitempty"`
	// Refs is surface's answer (present, possibly empty, for that op only).
	Refs  *[]string  `json:"refs,omitempty"`
	Error *ExecError `json:"error,omitempty"`
}

// ExecError is a contract error: Code is not_found, not_synthetic,
// not_owned, refused, unavailable or invalid (the request itself is not
// acceptable: bad JSON, an unknown op, a missing field).
type ExecError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errExecInvalid marks a request that the exec protocol does not accept.
var errExecInvalid = errors.New("invalid exec request")

// maxExecRequest bounds the request read from stdin.
const maxExecRequest = 16 << 20

// ServeExec answers one exec-provider request: it reads one JSON
// ExecRequest from stdin, runs it with app's Go methods and writes one
// ExecResponse to stdout. Contract errors are answers, not errors: ServeExec
// returns an error only when it cannot answer (an unexpected internal error,
// or stdout failing), and then writes nothing; the program should exit
// non-zero with the error on stderr.
func ServeExec(ctx context.Context, app *App, stdin io.Reader, stdout io.Writer) error {
	var req ExecRequest
	resp, err := ExecResponse{}, error(nil)
	if derr := json.NewDecoder(io.LimitReader(stdin, maxExecRequest)).Decode(&req); derr != nil {
		err = fmt.Errorf("%w: the request is not one JSON object: %v", errExecInvalid, derr)
	} else {
		ctx = access.WithRequestID(ctx, req.RequestID)
		resp, err = app.runExec(ctx, req)
	}
	if err != nil {
		code := execCode(err)
		if code == "" {
			return fmt.Errorf("chirp-exec %s: %w", req.Op, err)
		}
		resp = ExecResponse{Error: &ExecError{Code: code, Message: err.Error()}}
	}
	if err := json.NewEncoder(stdout).Encode(resp); err != nil {
		return fmt.Errorf("chirp-exec: writing the response: %w", err)
	}
	return nil
}

// runExec runs one request's operation.
func (a *App) runExec(ctx context.Context, req ExecRequest) (ExecResponse, error) {
	var resp ExecResponse
	if err := req.validate(); err != nil {
		return resp, err
	}
	var err error
	switch req.Op {
	case "provision":
		var p Provisioned
		p, err = a.Provision(ctx, *req.Account)
		resp.Ref, resp.TOTPURI = p.Ref, p.TOTPURI
	case "verify":
		err = a.VerifyUser(ctx, *req.Target)
	case "snapshot":
		resp.State, err = a.SnapshotUser(ctx, *req.Target)
	case "restore":
		err = a.RestoreUser(ctx, *req.Target, req.State)
	case "deprovision":
		err = a.DeprovisionUser(ctx, *req.Target)
	case "test":
		err = a.Test(ctx)
	case "surface":
		var ids []int64
		if ids, err = a.SurfaceRefs(ctx, req.Surface); err == nil {
			refs := make([]string, len(ids))
			for i, id := range ids {
				refs[i] = strconv.FormatInt(id, 10)
			}
			resp.Refs = &refs
		}
	}
	return resp, err
}

// validate checks that req names a known op and carries what it needs.
func (req ExecRequest) validate() error {
	switch req.Op {
	case "provision":
		if req.Account == nil {
			return fmt.Errorf("%w: provision needs an account", errExecInvalid)
		}
	case "verify", "snapshot", "restore", "deprovision":
		if req.Target == nil || req.Target.Ref == "" || req.Target.AccountID == "" {
			return fmt.Errorf("%w: %s needs a target with ref and account_id", errExecInvalid, req.Op)
		}
		if req.Op == "restore" && (len(req.State) == 0 || bytes.Equal(req.State, []byte("null"))) {
			return fmt.Errorf("%w: restore needs a state", errExecInvalid)
		}
	case "test":
	case "surface":
		if req.Surface == "" {
			return fmt.Errorf("%w: surface needs a surface name", errExecInvalid)
		}
	default:
		return fmt.Errorf("%w: unknown op %q", errExecInvalid, req.Op)
	}
	return nil
}

// execCode returns the protocol's code for err, or "" for an unexpected
// error.
func execCode(err error) string {
	for _, c := range []struct {
		err  error
		code string
	}{
		{errExecInvalid, "invalid"},
		{providers.ErrNotFound, "not_found"},
		{providers.ErrNotSynthetic, "not_synthetic"},
		{providers.ErrNotOwned, "not_owned"},
		{providers.ErrRefused, "refused"},
		{providers.ErrUnavailable, "unavailable"},
		{providers.ErrNoSurface, "no_surface"},
	} {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ""
}
