package main

import (
	"context"
	"fmt"
	"io"
	"os/user"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/migrations"
	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) tokensCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "tokens", Aliases: []string{"token"}, Short: "Manage bearer tokens"}
	var flags Config
	var configPath, name, scope string
	create := &cobra.Command{
		Use:   "create --name NAME --scope admin|runner|reader|analytics|app|inbound",
		Short: "Create a token and print it once: through the server with an admin token, or on the database for the first admin token",
		Long: `Creates a token and prints its secret once.

With an admin token (UNDERSTUDY_TOKEN or --token, and UNDERSTUDY_URL or --url)
it goes through the server's REST API (POST /v1/tokens): no database access is
needed. Without a token it writes to the database directly (DATABASE_URL or
--database-url), which is how the very first admin token is made. An explicit
--database-url always works on the database.`,
		Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			sc, err := access.ParseScope("scope", scope)
			if err != nil {
				return &codedError{code: exitInvalid, err: err}
			}
			var t access.Token
			var secret string
			if a.tokenGiven() && !cmd.Flags().Changed("database-url") {
				t, secret, err = a.createTokenREST(cmd.Context(), name, sc)
			} else {
				cfg, cerr := loadConfig(flags, configPath, a.getenv)
				if cerr != nil {
					return &codedError{code: exitUsage, err: cerr}
				}
				if cfg.DatabaseURL == "" {
					return usageErrorf("tokens create needs an admin token (set UNDERSTUDY_TOKEN, or pass --token, with UNDERSTUDY_URL) " +
						"or, for the very first admin token, the database (set DATABASE_URL or pass --database-url)")
				}
				t, secret, err = a.createToken(cmd.Context(), cfg, name, sc)
			}
			if err != nil {
				return err
			}
			if a.output == "json" {
				_, err = fmt.Fprintf(a.stdout, "{\"id\": %q, \"name\": %q, \"scope\": %q, \"secret\": %q}\n", t.ID, t.Name, t.Scope, secret)
				return err
			}
			_, err = fmt.Fprintf(a.stdout, "Created token %s (scope %s). It is shown this once:\n\n  %s\n\n", t.Name, t.Scope, secret)
			return err
		},
	}
	create.Flags().StringVar(&name, "name", "", "token name (letters, digits, . _ -)")
	create.Flags().StringVar(&scope, "scope", "", "admin, runner, reader, analytics or app")
	create.Flags().StringVar(&flags.DatabaseURL, "database-url", "", "PostgreSQL connection string (or DATABASE_URL), for the first admin token")
	create.Flags().StringVar(&configPath, "config", "", "YAML config file (or UNDERSTUDY_CONFIG)")
	_ = create.MarkFlagRequired("name")
	_ = create.MarkFlagRequired("scope")

	list := &cobra.Command{
		Use: "list", Short: "List tokens (never their secrets)", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.ListTokensWithResponse(cmd.Context())
			return showReply(a, resp, err, func(w io.Writer, l openapi.TokenList) {
				row(w, "ID", "NAME", "SCOPE", "PREFIX", "CREATED", "REVOKED")
				for _, t := range l.Items {
					revoked := "-"
					if t.RevokedAt != nil {
						revoked = t.RevokedAt.Format("2006-01-02 15:04")
					}
					row(w, t.Id, t.Name, t.Scope, t.Prefix+"…", t.CreatedAt.Format("2006-01-02 15:04"), revoked)
				}
			})
		},
	}
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a token", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RevokeTokenWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, func(w io.Writer, t openapi.Token) { fmt.Fprintf(w, "revoked token %s (%s)\n", t.Name, t.Id) })
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// tokenGiven reports whether a token was given, by --token or UNDERSTUDY_TOKEN.
func (a *cli) tokenGiven() bool {
	return firstNonEmpty(a.token, a.getenv("UNDERSTUDY_TOKEN")) != ""
}

// createTokenREST makes a token through the server (POST /v1/tokens), which
// audits it under the calling token's name.
func (a *cli) createTokenREST(ctx context.Context, name string, scope access.Scope) (access.Token, string, error) {
	if a.output != "table" && a.output != "json" {
		return access.Token{}, "", usageErrorf("--output must be table or json, got %q", a.output)
	}
	c, err := a.apiClient()
	if err != nil {
		return access.Token{}, "", err
	}
	resp, err := c.CreateTokenWithResponse(ctx, openapi.TokenCreate{Name: name, Scope: openapi.Scope(scope)})
	if err := check(resp, err); err != nil {
		return access.Token{}, "", err
	}
	if resp.JSON201 == nil {
		return access.Token{}, "", &codedError{code: exitUnavailable, err: fmt.Errorf("the server answered %d without the created token", resp.StatusCode())}
	}
	tok := resp.JSON201.Token
	return access.Token{ID: tok.Id, Name: tok.Name, Scope: access.Scope(tok.Scope)}, resp.JSON201.Secret, nil
}

// createToken makes a token on the database directly, audited as the OS user.
func (a *cli) createToken(ctx context.Context, cfg Config, name string, scope access.Scope) (access.Token, string, error) {
	pool, err := openPool(ctx, cfg)
	if err != nil {
		return access.Token{}, "", &codedError{code: exitUnavailable, err: err}
	}
	defer pool.Close()
	if err := migrations.Check(ctx, pool); err != nil {
		return access.Token{}, "", err
	}
	actor := "cli"
	if u, err := user.Current(); err == nil {
		actor = "cli:" + u.Username
	}
	ctx = access.WithCaller(ctx, access.Caller{Actor: actor})
	t, secret, err := access.NewTokens(pool).Create(ctx, name, scope)
	if err != nil {
		return access.Token{}, "", withCode(err)
	}
	return t, secret, nil
}
