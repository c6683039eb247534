package main

import (
	"io"
	"maps"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/understudy-dev/understudy/openapi"
)

func (a *cli) leasesCommand() *cobra.Command {
	// No "lease" alias: that name is the command that runs a command
	// with a leased account (lease_run.go).
	cmd := &cobra.Command{Use: "leases", Short: "Lease accounts for test runs, renew and release them"}
	cmd.AddCommand(a.leaseAcquireCommand(), a.leaseListCommand(), a.leaseGetCommand(), a.leaseRenewCommand(), a.leaseReleaseCommand())
	return cmd
}

// traceParams are the parameters of an acquisition that continues the
// trace of the CLI's caller: TRACEPARENT and TRACESTATE, when set (a CI
// job's tracing sets them; the server ignores a traceparent that is not
// valid).
func traceParams(getenv func(string) string) openapi.AcquireLeaseParams {
	var p openapi.AcquireLeaseParams
	if v := getenv("TRACEPARENT"); v != "" {
		p.Traceparent = new(v)
		if v := getenv("TRACESTATE"); v != "" {
			p.Tracestate = new(v)
		}
	}
	return p
}

func (a *cli) leaseAcquireCommand() *cobra.Command {
	var f leaseFlags
	var key string
	acquire := &cobra.Command{
		Use:   "acquire --environment E --role R [flags]",
		Short: "Lease a freshly reset account of a role and print its credentials",
		Args:  args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := f.request(a.getenv)
			if err != nil {
				return err
			}
			c, err := a.leaseClient(f.wait)
			if err != nil {
				return err
			}
			p := traceParams(a.getenv)
			if cmd.Flags().Changed("idempotency-key") {
				p.IdempotencyKey = new(key)
			}
			resp, err := c.AcquireLeaseWithResponse(cmd.Context(), &p, req)
			return showReply(a, resp, err, grantDetails)
		},
	}
	f.register(acquire, 30*time.Second)
	acquire.Flags().StringVar(&key, "idempotency-key", "", "repeating the request with this key returns the same lease instead of a second one")
	return acquire
}

func (a *cli) leaseListCommand() *cobra.Command {
	var env, role string
	var all bool
	list := &cobra.Command{
		Use: "list [flags]", Short: "List open leases, newest first (--all: ended ones too)", Args: args(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var p openapi.ListLeasesParams
			set := cmd.Flags().Changed
			if set("environment") {
				p.Environment = new(env)
			}
			if set("role") {
				p.Role = new(role)
			}
			if set("all") {
				p.All = new(all)
			}
			resp, err := c.ListLeasesWithResponse(cmd.Context(), &p)
			return showReply(a, resp, err, func(w io.Writer, l openapi.LeaseList) { leaseTable(w, l.Items...) })
		},
	}
	list.Flags().StringVar(&env, "environment", "", "only leases of this environment")
	list.Flags().StringVar(&role, "role", "", "only leases of this role")
	list.Flags().BoolVar(&all, "all", false, "include ended leases (the newest 1000)")
	return list
}

func (a *cli) leaseGetCommand() *cobra.Command {
	return &cobra.Command{
		Use: "get ID", Short: "Show a lease", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.GetLeaseWithResponse(cmd.Context(), argv[0])
			return showReply(a, resp, err, leaseDetails)
		},
	}
}

func (a *cli) leaseRenewCommand() *cobra.Command {
	var ttl time.Duration
	renew := &cobra.Command{
		Use: "renew ID [--ttl 15m]", Short: "Extend a lease to --ttl from now", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			resp, err := c.RenewLeaseWithResponse(cmd.Context(), argv[0], openapi.LeaseRenew{TtlSeconds: new(seconds(ttl))})
			return showReply(a, resp, err, func(w io.Writer, x openapi.Lease) { leaseTable(w, x) })
		},
	}
	renew.Flags().DurationVar(&ttl, "ttl", 15*time.Minute, "how long the lease lasts from now, 1s to 24h")
	return renew
}

func (a *cli) leaseReleaseCommand() *cobra.Command {
	var reset bool
	release := &cobra.Command{
		Use: "release ID [--reset]", Short: "End a lease and free its account (releasing twice changes nothing)", Args: args("id"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			var body openapi.LeaseRelease
			if cmd.Flags().Changed("reset") {
				body.Reset = new(reset)
			}
			resp, err := c.ReleaseLeaseWithResponse(cmd.Context(), argv[0], body)
			return showReply(a, resp, err, func(w io.Writer, x openapi.Lease) { leaseTable(w, x) })
		},
	}
	release.Flags().BoolVar(&reset, "reset", false, "reset the account to the lease's state before freeing it")
	return release
}

// leaseFlags are the flags of leases acquire and lease.
type leaseFlags struct {
	environment, role, state, holder string
	ttl, wait                        time.Duration
}

// register adds the flags, --wait defaulting to wait.
func (f *leaseFlags) register(cmd *cobra.Command, wait time.Duration) {
	fs := cmd.Flags()
	fs.StringVar(&f.environment, "environment", "", "the environment of the role (required)")
	fs.StringVar(&f.role, "role", "", "the role to lease an account of (required)")
	fs.StringVar(&f.state, "state", "", "the state the account is reset to (default initial)")
	fs.DurationVar(&f.ttl, "ttl", 15*time.Minute, "how long the lease lasts unless renewed, 1s to 24h")
	fs.DurationVar(&f.wait, "wait", wait, "how long to wait for a free account, up to 10m")
	fs.StringVar(&f.holder, "holder", "", "who holds the lease: a CI job, a worker (default $CI_JOB_NAME, else hostname:pid)")
}

// request returns the body for the flags; environment and role are
// required. The holder defaults to $CI_JOB_NAME, else hostname:pid, so a
// stuck lease can be traced to its run.
func (f *leaseFlags) request(getenv func(string) string) (openapi.LeaseRequest, error) {
	if f.environment == "" || f.role == "" {
		return openapi.LeaseRequest{}, usageErrorf("--environment and --role are required")
	}
	holder := f.holder
	if holder == "" {
		holder = defaultHolder(getenv)
	}
	req := openapi.LeaseRequest{Environment: f.environment, Role: f.role, Holder: holder,
		TtlSeconds: new(seconds(f.ttl)), WaitSeconds: new(seconds(f.wait))}
	if f.state != "" {
		req.State = new(f.state)
	}
	return req, nil
}

func defaultHolder(getenv func(string) string) string {
	if job := getenv("CI_JOB_NAME"); job != "" {
		return job
	}
	host, err := os.Hostname()
	if err != nil {
		host = "unknown-host"
	}
	return host + ":" + strconv.Itoa(os.Getpid())
}

// seconds rounds d up to whole seconds, the unit of the API, so --ttl
// 1500ms asks for 2s rather than an invalid 1.
func seconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}

// leaseClient is a.client whose HTTP timeout outlasts the server's wait
// for a free account (the default client gives up after a minute).
func (a *cli) leaseClient(wait time.Duration) (*openapi.ClientWithResponses, error) {
	if a.httpClient == nil {
		a.httpClient = &http.Client{Timeout: wait + 60*time.Second}
	}
	return a.client()
}

// grantDetails prints a lease grant: what a test run needs to sign in.
func grantDetails(w io.Writer, g openapi.LeaseGrant) {
	for _, kv := range [][2]string{
		{"Lease", g.Lease.Id},
		{"Account", g.Account.Id},
		{"Email", g.Credentials.Email},
		{"Username", g.Credentials.Username},
		{"Password", g.Credentials.Password},
		{"State", g.Lease.State},
		{"Expires", g.Lease.ExpiresAt.Format(time.RFC3339)},
	} {
		row(w, kv[0], kv[1])
	}
	if g.Lease.Traceparent != nil {
		row(w, "Traceparent", *g.Lease.Traceparent)
	}
	for _, app := range slices.Sorted(maps.Keys(g.Refs)) {
		row(w, "Ref "+app, g.Refs[app])
	}
}

func leaseTable(w io.Writer, list ...openapi.Lease) {
	row(w, "ID", "ENVIRONMENT", "ROLE", "ACCOUNT", "HOLDER", "STATE", "STATUS", "EXPIRES")
	for _, l := range list {
		row(w, l.Id, l.Environment, l.Role, l.AccountId, l.Holder, l.State, l.Status, l.ExpiresAt.Format(time.RFC3339))
	}
}

// leaseDetails prints one lease as label and value lines.
func leaseDetails(w io.Writer, l openapi.Lease) {
	ended := "-"
	if l.EndedAt != nil {
		ended = l.EndedAt.Format(time.RFC3339)
	}
	for _, kv := range [][2]string{
		{"ID", l.Id},
		{"Account", l.AccountId},
		{"Environment", l.Environment},
		{"Role", l.Role},
		{"Holder", l.Holder},
		{"State", l.State},
		{"Status", string(l.Status)},
		{"Status reason", orDash(l.StatusReason)},
		{"Acquired", l.AcquiredAt.Format(time.RFC3339)},
		{"Expires", l.ExpiresAt.Format(time.RFC3339)},
		{"Ended", ended},
	} {
		row(w, kv[0], kv[1])
	}
}
