package exec

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	osexec "os/exec"
	"slices"
	"time"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/tracing"
)

const (
	maxOutput  = 32 << 20 // bytes of stdout; a snapshot's state can be large
	stderrTail = 1 << 10  // bytes of stderr kept for a message
	outputHead = 200      // bytes of a bad stdout quoted in a message
	waitDelay  = time.Second
)

// request is what the program reads on stdin.
type request struct {
	Op        string             `json:"op"`
	RequestID string             `json:"request_id"`
	Account   *providers.Account `json:"account,omitempty"`
	Target    *providers.Target  `json:"target,omitempty"`
	State     json.RawMessage    `json:"state,omitempty"`
	Surface   string             `json:"surface,omitempty"`
}

// response is what the program writes on stdout.
type response struct {
	Ref string `json:"ref"`
	// TOTPURI is the secret an app enrolled at provisioning: never
	// logged, never quoted (see redactTOTP).
	TOTPURI string          `json:"totp_uri"`
	State   json.RawMessage `json:"state"`
	Refs    *[]string       `json:"refs"`
	Error   *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// codes maps the protocol's error codes to the contract's errors.
var codes = map[string]error{
	"not_found":     providers.ErrNotFound,
	"not_synthetic": providers.ErrNotSynthetic,
	"not_owned":     providers.ErrNotOwned,
	"refused":       providers.ErrRefused,
	"invalid":       providers.ErrRefused,
	"unavailable":   providers.ErrUnavailable,
	"no_surface":    providers.ErrNoSurface,
}

// run runs the program once for req and returns its response, which is
// not an error response. Its errors wrap a providers sentinel.
func (p *Program) run(ctx context.Context, req request) (response, error) {
	req.RequestID = access.RequestID(ctx)
	in, err := json.Marshal(req)
	if err != nil {
		return response{}, fmt.Errorf("encoding the request: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	cmd := osexec.CommandContext(rctx, p.path, p.cfg.Command[1:]...)
	cmd.Dir, cmd.Env = p.cfg.Dir, traceEnv(ctx, p.env)
	stdout, stderr := &capped{max: maxOutput}, &tail{max: stderrTail + p.redact.longest}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = bytes.NewReader(in), stdout, stderr
	cmd.WaitDelay = waitDelay
	ownGroup(cmd)
	start := time.Now()
	err = cmd.Run()
	killGroup(cmd)
	p.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "exec run", slog.String("app", p.cfg.App), slog.String("op", req.Op),
		slog.String("request_id", req.RequestID), slog.Duration("duration", time.Since(start)),
		slog.Int("exit_code", cmd.ProcessState.ExitCode()))

	if ctx.Err() != nil {
		return response{}, fmt.Errorf("%w: %w", providers.ErrUnavailable, ctx.Err())
	}
	if errors.Is(rctx.Err(), context.DeadlineExceeded) {
		return response{}, fmt.Errorf("%w: %s timed out after %s (settings.timeout) and was killed%s",
			providers.ErrUnavailable, p.path, p.cfg.Timeout, p.stderr(stderr))
	}
	exitErr, exited := errors.AsType[*osexec.ExitError](err)
	if err != nil && !exited {
		return response{}, fmt.Errorf("%w: running %s: %v%s", providers.ErrUnavailable, p.path, err, p.stderr(stderr))
	}
	resp, perr := p.parse(stdout)
	switch {
	case perr == nil && resp.Error != nil:
		return response{}, p.contractError(resp.Error.Code, resp.Error.Message)
	case exited:
		return response{}, fmt.Errorf("%w: %s %s%s", providers.ErrUnavailable, p.path, describeExit(exitErr), p.stderr(stderr))
	}
	return resp, perr
}

// traceEnv is env with the trace context of ctx, if it carries one, as
// TRACEPARENT and TRACESTATE (empty when the trace has none): the
// program's own tracing continues the trace of the lease it works for.
// They come last, so they win over settings.env's; env itself is not
// changed (runs share it).
func traceEnv(ctx context.Context, env []string) []string {
	traceparent, tracestate := tracing.Headers(ctx)
	if traceparent == "" {
		return env
	}
	return append(slices.Clip(env), "TRACEPARENT="+traceparent, "TRACESTATE="+tracestate)
}

// parse reads the program's stdout: one JSON object.
func (p *Program) parse(out *capped) (response, error) {
	var resp response
	if out.over {
		return resp, fmt.Errorf("%w: the program's output is larger than %d MiB", providers.ErrProtocol, maxOutput>>20)
	}
	b := bytes.TrimSpace(out.Bytes())
	switch {
	case !json.Valid(b):
		return resp, fmt.Errorf("%w: the program's output is not JSON: %q", providers.ErrProtocol, p.head(b))
	case b[0] != '{':
		return resp, fmt.Errorf("%w: the program's output is not a JSON object: %q", providers.ErrProtocol, p.head(b))
	}
	if err := json.Unmarshal(b, &resp); err != nil {
		return resp, fmt.Errorf("%w: the program's output does not fit the protocol: %v", providers.ErrProtocol, err)
	}
	return resp, nil
}

// contractError maps an error response.
func (p *Program) contractError(code, message string) error {
	message = clip(p.redact.apply(message), 500)
	if sentinel, ok := codes[code]; ok {
		return fmt.Errorf("%w: %s: %s", sentinel, code, message)
	}
	return fmt.Errorf("%w: unknown error code %q: %s", providers.ErrProtocol, clip(code, 40), message)
}

// head is the start of a bad output, redacted, for a message.
func (p *Program) head(b []byte) string {
	s := p.redact.apply(string(b))
	if len(s) > outputHead {
		s = clip(s, outputHead)
	}
	return s
}

// stderr is the end of the program's stderr, redacted, for a message.
func (p *Program) stderr(t *tail) string {
	s := t.text(p.redact, stderrTail)
	if s == "" {
		return " (stderr is empty)"
	}
	return "; stderr: " + s
}

func describeExit(e *osexec.ExitError) string {
	if code := e.ExitCode(); code >= 0 {
		return fmt.Sprintf("exited with code %d", code)
	}
	return "was ended by " + e.String() // "signal: killed"
}
