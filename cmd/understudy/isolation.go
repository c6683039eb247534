package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/isolation"
	"github.com/understudy-dev/understudy/openapi"
)

// isolationCommand checks visibility, prints the signed isolation list
// and manages its signing keys.
func (a *cli) isolationCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "isolation", Short: "Who sees synthetic accounts on each surface of an app (isolation policies)"}
	cmd.AddCommand(a.isolationCheckCommand(), a.isolationListCommand(), a.isolationKeysCommand(), a.isolationAuditCommand(), a.isolationViolationsCommand())
	return cmd
}

func (a *cli) isolationCheckCommand() *cobra.Command {
	var env, surface, viewer string
	cmd := &cobra.Command{
		Use:   "check --environment ENV --surface SURFACE --viewer VIEWER SUBJECT...",
		Short: "Print whether the viewer sees each subject on a surface, and why",
		Long: `Print, for each subject (account id, email, username, app ref such as chirp:42),
whether the viewer sees it on the surface, and why: not_synthetic, self, allowed,
testers_only_synthetic_viewer, testers_only_real_viewer or hidden.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, subjects []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.CheckIsolationWithResponse(cmd.Context(), openapi.IsolationCheck{Environment: env, Surface: surface, Viewer: viewer, Subjects: subjects})
			return showReply(a, resp, err, func(w io.Writer, l openapi.IsolationResults) {
				row(w, "SUBJECT", "VISIBLE", "REASON")
				for _, r := range l.Results {
					row(w, r.Subject, r.Visible, r.Reason)
				}
			})
		},
	}
	cmd.Flags().StringVar(&env, "environment", "", "environment (required)")
	cmd.Flags().StringVar(&surface, "surface", "", "surface, such as leaderboards or search (required)")
	cmd.Flags().StringVar(&viewer, "viewer", "", "who looks: an identifier of a synthetic account, or any id of a real user (required)")
	for _, f := range []string{"environment", "surface", "viewer"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func (a *cli) isolationListCommand() *cobra.Command {
	var env string
	cmd := &cobra.Command{
		Use:   "list --environment ENV",
		Short: "Print the signed isolation list: every synthetic identity and its policy on each surface",
		Long: `Print an environment's isolation list after verifying its signature with the
server's trusted keys: each account's identifiers, its role and its visibility
on every surface. -o json prints the list exactly as signed.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			keys, err := c.ListIsolationKeysWithResponse(cmd.Context())
			if err := check(keys, err); err != nil {
				return err
			}
			resp, err := c.GetIsolationListWithResponse(cmd.Context(), env, &openapi.GetIsolationListParams{})
			if err := check(resp, err); err != nil {
				return err
			}
			if resp.StatusCode() != http.StatusOK {
				return fmt.Errorf("unexpected answer %d", resp.StatusCode())
			}
			if _, err := isolation.Verify(trustedKeys(keys.JSON200.Keys), resp.HTTPResponse.Header.Get(isolation.SignatureHeader), resp.Body); err != nil {
				return fmt.Errorf("refusing the isolation list: %w", err)
			}
			if a.output == "json" {
				_, err := a.stdout.Write(resp.Body)
				return err
			}
			var l openapi.IsolationList
			if err := json.Unmarshal(resp.Body, &l); err != nil {
				return fmt.Errorf("reading the isolation list: %w", err)
			}
			printIsolationList(a.stdout, l)
			return nil
		},
	}
	cmd.Flags().StringVar(&env, "environment", "", "environment (required)")
	_ = cmd.MarkFlagRequired("environment")
	return cmd
}

// printIsolationList prints one line per identity: its role, its policy on
// each surface, and its identifiers.
func printIsolationList(w io.Writer, l openapi.IsolationList) {
	fmt.Fprintf(w, "Isolation list of %s, version %s, issued %s (%d identities)\n\n", l.Environment, l.Version, l.IssuedAt.Format("2006-01-02 15:04:05Z"), len(l.Identities))
	head := []any{"ROLE"}
	for _, s := range l.Surfaces {
		head = append(head, strings.ToUpper(s))
	}
	head = append(head, "IDS")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row(tw, head...)
	for _, id := range l.Identities {
		cols := []any{id.Role}
		for _, s := range l.Surfaces {
			cols = append(cols, id.Policy[s])
		}
		row(tw, append(cols, strings.Join(id.Ids, " "))...)
	}
	tw.Flush()
}

// trustedKeys converts the keys the server lists for isolation.Verify.
func trustedKeys(in []openapi.IsolationKey) []isolation.Key {
	out := make([]isolation.Key, 0, len(in))
	for _, k := range in {
		pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
		if err == nil {
			out = append(out, isolation.Key{KeyID: k.KeyId, PublicKey: pub, Algorithm: string(k.Algorithm)})
		}
	}
	return out
}

func (a *cli) isolationKeysCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "List the trusted keys that sign isolation lists, newest (the signing one) first",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListIsolationKeysWithResponse(cmd.Context())
			return showReply(a, resp, err, func(w io.Writer, l openapi.IsolationKeys) { keyTable(w, l.Keys...) })
		},
	}
	rotate := &cobra.Command{
		Use:   "rotate",
		Short: "Make a new signing key (older keys stay trusted until retired)",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RotateIsolationKeyWithResponse(cmd.Context())
			return showReply(a, resp, err, func(w io.Writer, k openapi.IsolationKey) { keyTable(w, k) })
		},
	}
	retire := &cobra.Command{
		Use:   "retire KEY_ID",
		Short: "Stop trusting a key (not the one that signs: rotate first)",
		Args:  args("key-id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RetireIsolationKeyWithResponse(cmd.Context(), argv[0])
			if err := check(resp, err); err != nil {
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Retired isolation key %s.\n", argv[0])
			return err
		},
	}
	cmd.AddCommand(rotate, retire)
	return cmd
}

func keyTable(w io.Writer, keys ...openapi.IsolationKey) {
	row(w, "KEY ID", "ALGORITHM", "CREATED", "PUBLIC KEY")
	for _, k := range keys {
		row(w, k.KeyId, k.Algorithm, k.CreatedAt.Format("2006-01-02 15:04"), k.PublicKey)
	}
}
