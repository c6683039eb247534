package chirp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
)

// webhookRoutes registers the webhook contract (openapi/app-webhook.yaml)
// on mux. Handler puts signature verification in front of it.
//
// Idempotency-Key is honoured by every write being idempotent by nature:
// provision by account id, restore is a full replace, and deprovision of a
// user already gone succeeds.
func (a *App) webhookRoutes(mux *http.ServeMux) {
	mux.Handle("POST /understudy/provision", a.contract("provision", a.provision))
	mux.Handle("POST /understudy/verify", a.contract("verify", a.verify))
	mux.Handle("POST /understudy/snapshot", a.contract("snapshot", a.snapshot))
	mux.Handle("POST /understudy/restore", a.contract("restore", a.restore))
	mux.Handle("POST /understudy/deprovision", a.contract("deprovision", a.deprovision))
	mux.Handle("POST /understudy/surface", a.contract("surface", a.surface))
}

// contractStatus maps a contract operation's error to its status and code.
func contractStatus(err error) (int, string) {
	switch {
	case errors.Is(err, providers.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, providers.ErrNoSurface):
		return http.StatusNotFound, "no_surface"
	case errors.Is(err, providers.ErrNotSynthetic):
		return http.StatusConflict, "not_synthetic"
	case errors.Is(err, providers.ErrNotOwned):
		return http.StatusConflict, "not_owned"
	case errors.Is(err, providers.ErrRefused):
		return http.StatusUnprocessableEntity, "invalid"
	case errors.Is(err, providers.ErrUnavailable):
		return http.StatusServiceUnavailable, "internal"
	}
	return http.StatusInternalServerError, "internal"
}

// contract adapts one operation: it carries X-Request-ID into the context,
// answers 200 with the operation's JSON, or the problem its error maps to.
func (a *App) contract(op string, fn func(r *http.Request) (any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqID := r.Header.Get("X-Request-ID")
		r = r.WithContext(access.WithRequestID(r.Context(), reqID))
		w.Header().Set("X-Request-ID", reqID)
		out, err := fn(r)
		attrs := []any{slog.String("op", op), slog.String("request_id", reqID),
			slog.String("idempotency_key", r.Header.Get("Idempotency-Key"))}
		if err == nil {
			a.log.InfoContext(r.Context(), "chirp webhook", attrs...)
			_ = writeJSON(w, http.StatusOK, out)
			return
		}
		status, code := contractStatus(err)
		detail := err.Error()
		if status >= 500 {
			a.reportError(r, "chirp webhook failed", append(attrs, slog.Any("error", err))...)
			detail = "internal error (request " + reqID + ")"
			w.Header().Set("Retry-After", "1")
		}
		writeProblem(w, status, problem{Code: code, Detail: detail})
	})
}

// targetRequest is the body of verify, snapshot, restore and deprovision.
type targetRequest struct {
	Ref       string          `json:"ref"`
	AccountID string          `json:"account_id"`
	State     json.RawMessage `json:"state"` // restore only
}

// readTarget decodes a target request; ref and account_id are required,
// and state too when withState.
func readTarget(r *http.Request, withState bool) (targetRequest, error) {
	var in targetRequest
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return in, refused("the body is not a JSON object: %v", err)
	}
	switch {
	case in.Ref == "":
		return in, refused("ref is required")
	case in.AccountID == "":
		return in, refused("account_id is required")
	case withState && (len(in.State) == 0 || bytes.Equal(in.State, []byte("null"))):
		return in, refused("state is required")
	}
	return in, nil
}

func refused(format string, args ...any) error {
	return fmt.Errorf("%w: %s", providers.ErrRefused, fmt.Sprintf(format, args...))
}

func (in targetRequest) target() providers.Target {
	return providers.Target{Ref: in.Ref, AccountID: in.AccountID}
}

func (a *App) provision(r *http.Request) (any, error) {
	var in struct {
		Account *providers.Account `json:"account"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return nil, refused("the body is not a JSON object: %v", err)
	}
	if in.Account == nil {
		return nil, refused("account is required")
	}
	return a.Provision(r.Context(), *in.Account)
}

func (a *App) verify(r *http.Request) (any, error) {
	in, err := readTarget(r, false)
	if err == nil {
		err = a.VerifyUser(r.Context(), in.target())
	}
	return map[string]any{"ref": in.Ref, "synthetic": true, "account_id": in.AccountID}, err
}

func (a *App) snapshot(r *http.Request) (any, error) {
	in, err := readTarget(r, false)
	if err != nil {
		return nil, err
	}
	state, err := a.SnapshotUser(r.Context(), in.target())
	return map[string]json.RawMessage{"state": state}, err
}

func (a *App) restore(r *http.Request) (any, error) {
	in, err := readTarget(r, true)
	if err == nil {
		err = a.RestoreUser(r.Context(), in.target(), in.State)
	}
	return struct{}{}, err
}

func (a *App) deprovision(r *http.Request) (any, error) {
	in, err := readTarget(r, false)
	if err == nil {
		err = a.DeprovisionUser(r.Context(), in.target())
	}
	return struct{}{}, err
}

func (a *App) surface(r *http.Request) (any, error) {
	var in struct {
		Surface string `json:"surface"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		return nil, refused("the body is not a JSON object: %v", err)
	}
	if in.Surface == "" {
		return nil, refused("surface is required")
	}
	ids, err := a.SurfaceRefs(r.Context(), in.Surface)
	refs := make([]string, len(ids))
	for i, id := range ids {
		refs[i] = strconv.FormatInt(id, 10)
	}
	return map[string][]string{"refs": refs}, err
}
