package stack

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Timeouts of the server's life cycle.
const (
	readyTimeout = 20 * time.Second // from start to /readyz answering 200
	stopTimeout  = 15 * time.Second // from SIGTERM to exit, then SIGKILL
)

// Token is what tokens create -o json prints.
type Token struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Scope  string `json:"scope"`
	Secret string `json:"secret"`
}

// Tokens are a run's two tokens: Admin sets up, Runner is measured.
type Tokens struct{ Admin, Runner Token }

// Prepare migrates the scratch database and creates the tokens, with the
// server binary's own commands.
func Prepare(ctx context.Context, bin, dbURL string) (Tokens, error) {
	var t Tokens
	if _, err := cli(ctx, bin, "migrate", "up", "--database-url", dbURL); err != nil {
		return t, err
	}
	var err error
	if t.Admin, err = CreateToken(ctx, bin, dbURL, "bench-admin", "admin"); err != nil {
		return t, err
	}
	t.Runner, err = CreateToken(ctx, bin, dbURL, "bench-runner", "runner")
	return t, err
}

// CreateToken runs tokens create and parses its JSON output.
func CreateToken(ctx context.Context, bin, dbURL, name, scope string) (Token, error) {
	out, err := cli(ctx, bin, "tokens", "create", "--name", name, "--scope", scope, "-o", "json", "--database-url", dbURL)
	if err != nil {
		return Token{}, err
	}
	var t Token
	if err := json.Unmarshal(out, &t); err != nil || t.Secret == "" {
		return Token{}, fmt.Errorf("tokens create printed %q, not a token with a secret (%v)", out, err)
	}
	return t, nil
}

// cli runs the server binary with args and returns its standard output. The
// error names the subcommand (not the arguments, which hold the database
// URL) and carries what the command wrote to standard error.
func cli(ctx context.Context, bin string, args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s %s: %w: %s", bin, args[0], args[1], err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Server is a program under measurement (the server binary, or the
// hand-written peer) running as a subprocess.
type Server struct {
	// BaseURL is http://127.0.0.1:<port>.
	BaseURL string
	name    string // "the server", "the peer": for messages
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan struct{} // closed when the process has exited
	waitErr error         // how it exited; read after done
}

// Command is a program to start on a free loopback port: Start passes it
// the address through Args.
type Command struct {
	// Name names it in messages ("the server").
	Name string
	// Path is the program.
	Path string
	// Args returns its arguments for addr (127.0.0.1:<port>).
	Args func(addr string) []string
	// Env is added to the driver's environment.
	Env []string
}

// StartServer starts bin serve on a free loopback port with a random secret
// key, and waits until /readyz answers 200. The server logs errors only
// (UNDERSTUDY_LOG_LEVEL=error), and accepts email domain qa.example.test;
// env (KEY=value) is added last, so it may override those.
func StartServer(ctx context.Context, bin, dbURL string, env ...string) (*Server, error) {
	return Start(ctx, Command{
		Name: "the server",
		Path: bin,
		Args: func(addr string) []string { return []string{"serve", "--database-url", dbURL, "--addr", addr} },
		Env: append([]string{"UNDERSTUDY_SECRET_KEY=" + randomKey(),
			"UNDERSTUDY_EMAIL_DOMAINS=qa.example.test", "UNDERSTUDY_LOG_LEVEL=error"}, env...),
	})
}

// Start starts c on a free loopback port and waits until its /readyz
// answers 200. Stop it with Stop.
func Start(ctx context.Context, c Command) (*Server, error) {
	addr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{BaseURL: "http://" + addr, name: c.Name, logs: &syncBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(c.Path, c.Args(addr)...)
	s.cmd.Env = append(os.Environ(), c.Env...)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	s.cmd.SysProcAttr = childAttr()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s (%s): %w", c.Name, c.Path, err)
	}
	go func() { s.waitErr = s.cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		return nil, fmt.Errorf("%w; output of %s:\n%s", err, c.Name, s.logs.String())
	}
	return s, nil
}

// waitReady polls /readyz until it answers 200, the process exits, ctx ends
// or readyTimeout passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.BaseURL+"/readyz", nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return fmt.Errorf("%s exited before it was ready: %v", s.name, s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("%s was not ready within %s: %w", s.name, readyTimeout, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM and waits for the exit, killing the process after
// stopTimeout. A server that had already exited, or exits with an error, is
// reported with its output.
func (s *Server) Stop() error {
	select {
	case <-s.done:
		return fmt.Errorf("%s exited during the run: %v; output:\n%s", s.name, s.waitErr, s.logs.String())
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.done
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", s.name, stopTimeout)
	}
	if s.waitErr != nil {
		return fmt.Errorf("%s exited with %v on SIGTERM; output:\n%s", s.name, s.waitErr, s.logs.String())
	}
	return nil
}

// Pid is the server's process id, for a profiler.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// FreeAddr returns a loopback address with a port that was free a moment
// ago, for a program's second listener (an SMTP port beside the HTTP one).
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// randomKey returns 32 random bytes, base64: a throw-away secret key.
func randomKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.StdEncoding.EncodeToString(b)
}

// syncBuffer collects a subprocess's output, keeping the last maxLogs
// bytes; it is safe to read while the process writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf []byte
}

// maxLogs bounds the server output kept for error messages.
const maxLogs = 64 << 10

// Write implements io.Writer.
func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - maxLogs; over > 0 {
		b.buf = b.buf[over:]
	}
	return len(p), nil
}

// String returns the output kept so far.
func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
