package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

// maxTOTPInput bounds what totp set reads from its file or stdin: the
// server takes at most 2048 bytes, and a little more is read so that a
// longer input is refused by the server with its own words.
const maxTOTPInput = 4096

func (a *cli) totpCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "totp", Short: "Keep accounts' authenticator (TOTP) secrets per app and read their codes under a lease"}
	cmd.AddCommand(a.totpSetCommand(), a.totpCodeCommand(), a.totpListCommand(), a.totpRemoveCommand())
	return cmd
}

func (a *cli) totpSetCommand() *cobra.Command {
	var app, uriFile string
	var fromStdin bool
	set := &cobra.Command{
		Use:   "set ACCOUNT --app APP (--uri-file FILE | --secret-stdin)",
		Short: "Store an account's TOTP secret for an app, sealed (never from the command line)",
		Long: "Reads an otpauth://totp/ URI or a bare base32 secret from a file (--uri-file) or from stdin\n" +
			"(--secret-stdin), so that it stays out of the shell's history and the process list, and stores it\n" +
			"as the account's secret for the app, replacing the one it had. The secret is never printed.",
		Args: args("account"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if app == "" {
				return usageErrorf("--app is required")
			}
			input, err := a.readTOTPInput(uriFile, fromStdin)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			body := openapi.TOTPSet{App: app}
			if looksLikeOTPAuth(input) {
				body.Uri = &input
			} else {
				body.Secret = &input
			}
			resp, err := c.SetTOTPWithResponse(cmd.Context(), argv[0], body)
			return showReply(a, resp, err, func(w io.Writer, x openapi.TOTPInfo) { totpTable(w, x) })
		},
	}
	set.Flags().StringVar(&app, "app", "", "the app the secret signs in to (required)")
	set.Flags().StringVar(&uriFile, "uri-file", "", "read the otpauth://totp/ URI (or a bare base32 secret) from this file")
	set.Flags().BoolVar(&fromStdin, "secret-stdin", false, "read the otpauth://totp/ URI or the bare base32 secret from stdin")
	return set
}

// readTOTPInput reads the secret from the file or stdin, exactly one of
// them; its errors never hold what was read.
func (a *cli) readTOTPInput(file string, fromStdin bool) (string, error) {
	var r io.Reader
	switch {
	case (file != "") == fromStdin:
		return "", usageErrorf("give exactly one of --uri-file FILE and --secret-stdin: a secret is never taken from the command line")
	case fromStdin:
		r = a.stdin
	default:
		f, err := os.Open(file)
		if err != nil {
			return "", usageErrorf("reading --uri-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTOTPInput+1))
	switch {
	case err != nil:
		return "", usageErrorf("reading the TOTP secret: %v", err)
	case len(b) > maxTOTPInput:
		return "", &codedError{code: exitInvalid, err: fmt.Errorf("the TOTP secret read is over %d bytes; an otpauth:// URI is at most 2048", maxTOTPInput)}
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", usageErrorf("the TOTP secret read is empty")
	}
	return s, nil
}

// looksLikeOTPAuth reports whether s is meant as an otpauth: URI.
func looksLikeOTPAuth(s string) bool {
	return len(s) >= len("otpauth:") && strings.EqualFold(s[:len("otpauth:")], "otpauth:")
}

func (a *cli) totpCodeCommand() *cobra.Command {
	var app string
	code := &cobra.Command{
		Use:   "code LEASE [--app APP]",
		Short: "Print the current TOTP code of a leased account (the token that holds the lease, or admin)",
		Long: "Prints the account's current authenticator code for the app, the seconds it has left and, when fewer\n" +
			"than 5 remain, the next code. Without --app, the account's one secret is used.",
		Args: args("lease"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var p openapi.GetLeaseTOTPParams
			if app != "" {
				p.App = &app
			}
			resp, err := c.GetLeaseTOTPWithResponse(cmd.Context(), argv[0], &p)
			return showReply(a, resp, err, totpCodeDetails)
		},
	}
	code.Flags().StringVar(&app, "app", "", "the app whose code to print (needed when the account has secrets for several)")
	return code
}

func (a *cli) totpListCommand() *cobra.Command {
	return &cobra.Command{
		Use: "list ACCOUNT", Short: "List an account's TOTP secrets by app (never the secrets)", Args: args("account"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListTOTPWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, l openapi.TOTPList) { totpTable(w, l.Items...) })
		},
	}
}

func (a *cli) totpRemoveCommand() *cobra.Command {
	var app string
	remove := &cobra.Command{
		Use: "remove ACCOUNT --app APP", Short: "Remove an account's TOTP secret for an app", Args: args("account"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if app == "" {
				return usageErrorf("--app is required")
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RemoveTOTPWithResponse(cmd.Context(), argv[0], app)
			if err := check(resp, err); err != nil {
				return err
			}
			return a.done("removed the TOTP secret of account " + argv[0] + " for app " + app)
		},
	}
	remove.Flags().StringVar(&app, "app", "", "the app whose secret to remove (required)")
	return remove
}

func totpTable(w io.Writer, list ...openapi.TOTPInfo) {
	row(w, "APP", "ISSUER", "ACCOUNT", "DIGITS", "PERIOD", "ALGORITHM", "ROTATED")
	for _, x := range list {
		row(w, x.App, orDash(x.Issuer), orDash(x.AccountName), strconv.Itoa(int(x.Digits)), strconv.Itoa(int(x.Period))+"s",
			x.Algorithm, x.RotatedAt.Format(time.RFC3339))
	}
}

// totpCodeDetails prints a code as label and value lines.
func totpCodeDetails(w io.Writer, x openapi.TOTPCode) {
	row(w, "Code", x.Code)
	row(w, "Valid for", strconv.Itoa(x.ValidFor)+"s")
	if x.Next != nil {
		row(w, "Next", *x.Next)
	}
}
