// Command chirp-exec is chirp's adapter for Understudy's exec provider: it
// reads one JSON request from stdin, runs it against chirp's database
// (CHIRP_DATABASE_URL, migrated by chirp) and writes one JSON response to
// stdout (see chirp.ServeExec for the protocol). CHIRP_PASSWORD_COST, when
// set, is the bcrypt cost of the password hashes it stores.
//
// It exits 0 whenever it answered, contract errors included; 1 when it
// crashed (an unexpected error, printed on stderr); 2 on bad usage.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy/examples/chirp"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx)
	stop()
	os.Exit(code)
}

func run(ctx context.Context) int {
	url := os.Getenv("CHIRP_DATABASE_URL")
	if url == "" || len(os.Args) > 1 {
		fmt.Fprintln(os.Stderr, "usage: CHIRP_DATABASE_URL=postgres://… chirp-exec < request.json")
		return 2
	}
	pool, err := pgxpool.New(ctx, url) // connects lazily: a database that is down is an "unavailable" answer
	if err != nil {
		fmt.Fprintf(os.Stderr, "chirp-exec: CHIRP_DATABASE_URL: %v\n", err)
		return 2
	}
	defer pool.Close()
	cfg := chirp.Config{DB: pool}
	if s := os.Getenv("CHIRP_PASSWORD_COST"); s != "" {
		if cfg.PasswordCost, err = strconv.Atoi(s); err != nil {
			fmt.Fprintf(os.Stderr, "chirp-exec: CHIRP_PASSWORD_COST: %v\n", err)
			return 2
		}
	}
	app, err := chirp.New(cfg)
	if err == nil {
		err = chirp.ServeExec(ctx, app, os.Stdin, os.Stdout)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "chirp-exec: %v\n", err)
		return 1
	}
	return 0
}
