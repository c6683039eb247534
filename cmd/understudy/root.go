package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/openapi"
	"github.com/understudy-dev/understudy/spec"
)

// Exit codes. They are documented in the README; scripts rely on them.
const (
	exitOK          = 0
	exitError       = 1 // any other failure
	exitUsage       = 2 // bad command line
	exitNotFound    = 3 // the named thing does not exist (404)
	exitAuth        = 4 // missing, unknown or insufficient token (401, 403)
	exitConflict    = 5 // the change clashes with the current state (409)
	exitInvalid     = 6 // the input was refused (400, 413, 422)
	exitUnavailable = 7 // the server, its database or an app is down or broke its contract (502, 503)
)

// codedError carries an exit code with the message to print.
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &codedError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// cli is what every command shares: where to write and how to reach the server.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	url, token     string
	output         string
	httpClient     *http.Client
	now            func() time.Time
	// ui is set under plan -json: diagnostics and the plan go to it, as
	// Terraform's machine-readable UI on stdout.
	ui *spec.UIStream
	// noColor is -no-color on the command line: no colour anywhere, the
	// diagnostics of a command line that does not parse included.
	noColor bool
	// isTerminal reports whether w is a terminal; nil checks for a
	// character device.
	isTerminal func(w any) bool
	// compactWarnings is -compact-warnings: warnings are kept in
	// warnings and summed up when the command ends.
	compactWarnings bool
	warnings        hcl.Diagnostics
}

// run executes the command line args and returns the process exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, now: time.Now}
	return a.run(ctx, args)
}

func (a *cli) run(ctx context.Context, args []string) int {
	root := a.rootCommand()
	for _, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "-no-color" || arg == "--no-color" || arg == "-no-color=true" || arg == "--no-color=true" {
			a.noColor = true
		}
	}
	root.SetArgs(longFlags(root, args))
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	defer a.flushWarnings(err) // after the error's diagnostic
	if err == nil {
		return exitOK
	}
	if ce, ok := errors.AsType[*codedError](err); ok && ce.code == exitUnavailable && ctx.Err() != nil {
		// A signal cut the request short: the server was not at fault.
		err = &codedError{code: exitError, err: errors.New("interrupted before the server answered")}
	}
	if cmd != nil && isSpecCommand(cmd) {
		return a.specExit(err)
	}
	fmt.Fprintln(a.stderr, "understudy: "+err.Error())
	if ce, ok := errors.AsType[*codedError](err); ok {
		return ce.code
	}
	if strings.HasPrefix(err.Error(), "unknown command") { // cobra's, for the root
		return exitUsage
	}
	return exitError
}

func (a *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "understudy",
		Short:         "Synthetic role accounts for testing in production",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.url, "url", "", "server URL (or UNDERSTUDY_URL; default http://127.0.0.1:8080)")
	root.PersistentFlags().StringVar(&a.token, "token", "", "bearer token (or UNDERSTUDY_TOKEN)")
	root.PersistentFlags().StringVarP(&a.output, "output", "o", "table", "output format: table or json")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		if isSpecCommand(cmd) {
			err = specFlagError(cmd, err)
		}
		return &codedError{code: exitUsage, err: err}
	})
	root.AddCommand(a.serveCommand(), a.migrateCommand(), a.tokensCommand(), a.environmentsCommand(),
		a.rolesCommand(), a.accountsCommand(), a.auditCommand(), a.devPostgresCommand(), a.demoCommand(),
		a.appsCommand(), a.destinationsCommand(), a.syncCommand(), a.snapshotsCommand(), a.leasesCommand(), a.leaseRunCommand(), a.runsCommand(), a.totpCommand(), a.inboxCommand(), a.artifactsCommand(), a.exclusionsCommand(),
		a.isolationCommand(), specCommand(a.fmtCommand()), specCommand(a.validateCommand()), specCommand(a.planCommand()),
		specCommand(a.applyCommand()), specCommand(a.destroyCommand()), specCommand(a.showCommand()), a.workspacesCommand())
	root.AddCommand(a.deploymentsCommand())
	for _, c := range root.Commands() {
		if c.HasSubCommands() && c.RunE == nil {
			group(c)
		}
	}
	return root
}

// longFlags rewrites the single-dash long flags that Terraform users type
// (-var, -check) to the double-dash form that cobra parses: an argument
// "-name" or "-name=value" whose name is a long flag of the command args
// run. Shorthands (-o) and everything after "--" are left as they are.
func longFlags(root *cobra.Command, args []string) []string {
	cmd, _, err := root.Find(args)
	if err != nil {
		return args
	}
	cmd.InitDefaultHelpFlag()
	out := slices.Clone(args)
	for i, arg := range out {
		if arg == "--" {
			break
		}
		if len(arg) <= 2 || arg[0] != '-' || arg[1] == '-' {
			continue
		}
		if name, _, _ := strings.Cut(arg[1:], "="); len(name) > 1 && cmd.Flag(name) != nil {
			out[i] = "-" + arg
		}
	}
	return out
}

// args returns a cobra.PositionalArgs that reports a usage error naming
// the expected arguments.
func args(names ...string) cobra.PositionalArgs {
	return func(_ *cobra.Command, got []string) error {
		if len(got) != len(names) {
			return usageErrorf("expected %d argument(s) <%s>, got %d", len(names), strings.Join(names, "> <"), len(got))
		}
		return nil
	}
}

// client returns the generated REST client, authenticated with the token.
func (a *cli) client() (*openapi.ClientWithResponses, error) {
	if a.output != "table" && a.output != "json" {
		return nil, usageErrorf("--output must be table or json, got %q", a.output)
	}
	return a.apiClient()
}

// apiClient is client without the check of --output, for the commands
// that have formats of their own.
func (a *cli) apiClient() (*openapi.ClientWithResponses, error) {
	url := firstNonEmpty(a.url, a.getenv("UNDERSTUDY_URL"), "http://127.0.0.1:8080")
	token := firstNonEmpty(a.token, a.getenv("UNDERSTUDY_TOKEN"))
	hc := a.httpClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	return openapi.NewClientWithResponses(url, openapi.WithHTTPClient(hc),
		openapi.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			req.Header.Set("User-Agent", "understudy-cli")
			return nil
		}))
}

// check checks the outcome of one REST call made with the generated client:
// a transport error or a problem document becomes an error with the
// matching exit code.
func check[T any, R interface {
	*T
	GetBody() []byte
	StatusCode() int
}](resp R, err error) error {
	if err != nil {
		return &codedError{code: exitUnavailable, err: fmt.Errorf("cannot reach the Understudy server: %w", err)}
	}
	status, body := resp.StatusCode(), resp.GetBody()
	if status < 400 {
		return nil
	}
	// Only a problem document is the server's own words. Anything else
	// (a proxy's HTML page, a load balancer's text) is described, never
	// echoed: it may repeat what was sent, the token included.
	var p openapi.Problem
	msg := fmt.Sprintf("the answer was HTTP %d %s with no problem document (%d bytes): a proxy or load balancer between here and the Understudy server may have answered; check UNDERSTUDY_URL",
		status, http.StatusText(status), len(body))
	if json.Unmarshal(body, &p) == nil && p.Detail != "" {
		msg = p.Detail
		if p.Errors != nil {
			var parts []string
			for _, f := range *p.Errors {
				parts = append(parts, f.Field+": "+f.Detail)
			}
			msg += " (" + strings.Join(parts, "; ") + ")"
		}
	}
	return &codedError{code: exitCodeOf(status), err: &serverError{status: status, msg: msg}}
}

// serverError is a problem the server answered. The other commands print
// it with its HTTP status; a spec command prints it as a diagnostic, as
// Terraform does: a short summary (see summary), the server's words as
// its detail, and no HTTP status.
type serverError struct {
	status int
	msg    string
}

func (e *serverError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.msg, e.status) }

// summary is the diagnostic's one short sentence for e.
func (e *serverError) summary() string {
	switch {
	case strings.HasPrefix(e.msg, "-target="):
		return "Invalid target address"
	case strings.HasPrefix(e.msg, "-replace="):
		return "Invalid replace address"
	}
	switch e.status {
	case http.StatusBadRequest:
		return "Malformed request"
	case http.StatusUnauthorized:
		return "The server refused the token"
	case http.StatusForbidden:
		return "The token may not do this"
	case http.StatusNotFound:
		return "Not found"
	case http.StatusConflict:
		return "Conflict with the server's state"
	case http.StatusRequestEntityTooLarge:
		return "Request too large"
	case http.StatusUnprocessableEntity:
		return "Invalid request"
	case http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return "Server unavailable"
	}
	return "Server error"
}

func exitCodeOf(status int) int {
	switch status {
	case http.StatusNotFound:
		return exitNotFound
	case http.StatusUnauthorized, http.StatusForbidden:
		return exitAuth
	case http.StatusConflict:
		return exitConflict
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return exitInvalid
	case http.StatusServiceUnavailable, http.StatusBadGateway:
		return exitUnavailable
	}
	return exitError
}

// show prints a response: its JSON body as is with -o json, or the table
// that table writes.
func (a *cli) show(body []byte, table func(w io.Writer)) error {
	if a.output == "json" {
		var buf bytes.Buffer
		if err := json.Indent(&buf, body, "", "  "); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

// showReply is what a command that reads and prints does after its REST
// call: it checks the outcome and decodes the answer's body into a V (see
// decodeReply), and prints the body as is with -o json, or else the table
// that table writes of the V. A V other than the generated client's type
// of the answer reads the body its own way (raw values, a domain type).
func showReply[V, T any, R interface {
	*T
	GetBody() []byte
	StatusCode() int
}](a *cli, resp R, err error, table func(w io.Writer, v V)) error {
	v, err := decodeReply[V](resp, err)
	if err != nil {
		return err
	}
	return a.show(resp.GetBody(), func(w io.Writer) { table(w, v) })
}

// decodeReply checks the outcome of a REST call (see check) and decodes
// the answer's body into a V: showReply's first half, for a command that
// prints several answers as one (sync, one call per destination).
func decodeReply[V, T any, R interface {
	*T
	GetBody() []byte
	StatusCode() int
}](resp R, err error) (V, error) {
	var v V
	if err := check(resp, err); err != nil {
		return v, err
	}
	if err := json.Unmarshal(resp.GetBody(), &v); err != nil {
		return v, fmt.Errorf("reading the server's answer: %w", err)
	}
	return v, nil
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func row(w io.Writer, cols ...any) {
	for i, c := range cols {
		if i > 0 {
			fmt.Fprint(w, "\t")
		}
		fmt.Fprint(w, c)
	}
	fmt.Fprintln(w)
}

// withCode gives a domain error (used by the commands that work on the
// database directly) the exit code its HTTP status would have.
func withCode(err error) error {
	code := map[string]int{
		understudy.ENOTFOUND: exitNotFound, understudy.EUNAUTHORIZED: exitAuth, understudy.EFORBIDDEN: exitAuth,
		understudy.ECONFLICT: exitConflict, understudy.EINVALID: exitInvalid, understudy.EMALFORMED: exitInvalid,
		understudy.EUNAVAILABLE: exitUnavailable, understudy.EBADGATEWAY: exitUnavailable,
	}[understudy.ErrorCode(err)]
	if code == 0 {
		code = exitError
	}
	return &codedError{code: code, err: err}
}

// group makes a command group refuse an unknown subcommand with a usage
// error: cobra checks subcommand names only at the root, so without this
// "understudy roles frobnicate" would print help and exit 0.
func group(cmd *cobra.Command) *cobra.Command {
	cmd.RunE = func(cmd *cobra.Command, argv []string) error {
		if len(argv) > 0 {
			return usageErrorf("unknown command %q for %q", argv[0], cmd.CommandPath())
		}
		return cmd.Help()
	}
	return cmd
}

// done prints a confirmation for calls without a body: a line for people,
// {"ok":true,"message":…} with -o json.
func (a *cli) done(msg string) error {
	if a.output == "json" {
		return json.NewEncoder(a.stdout).Encode(map[string]any{"ok": true, "message": msg})
	}
	_, err := io.WriteString(a.stdout, msg+"\n")
	return err
}
