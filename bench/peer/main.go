// Command peer is what a user could write by hand instead of Understudy to
// serve GET /v1/accounts/{id}: echo and a pgxpool, one bearer token compared
// in constant time, one primary-key SELECT, the identity passed through as
// raw JSON. bench/load measures Understudy against it.
//
// It reads the same row Understudy's accounts.GetAccount reads, with the
// same columns and joins (environment and role names), and answers the same
// JSON document, so both do the same database work and send the same bytes:
// the difference in throughput is what Understudy adds around the query
// (request id, metrics, deadline, body limit, token cache, scope check,
// validation against openapi.yaml, decoding and re-encoding the identity).
// It writes no log line per request (Understudy, under bench/load, logs
// only errors).
//
// Usage:
//
//	PEER_TOKEN=<secret> DATABASE_URL=<url> peer -addr 127.0.0.1:8081 [-max-conns 20]
//
// It stops on SIGINT or SIGTERM.
package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/labstack/echo/v4"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "peer: %v\n", err)
		os.Exit(1)
	}
}

// run serves until ctx ends, then shuts down.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := flag.NewFlagSet("peer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "", "address to listen on, e.g. 127.0.0.1:8081 (required)")
	dbURL := fs.String("database-url", getenv("DATABASE_URL"), "PostgreSQL URL (or DATABASE_URL)")
	maxConns := fs.Int("max-conns", 20, "connection pool size (Understudy's default db_max_conns)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	token := getenv("PEER_TOKEN")
	if *addr == "" || *dbURL == "" || token == "" {
		return errors.New("-addr, DATABASE_URL (or -database-url) and PEER_TOKEN are required")
	}
	pc, err := pgxpool.ParseConfig(*dbURL)
	if err != nil {
		return fmt.Errorf("parsing the database URL: %w", err)
	}
	pc.MaxConns = int32(*maxConns)
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return fmt.Errorf("connecting to the database: %w", err)
	}
	defer pool.Close()
	srv := &http.Server{Addr: *addr, Handler: newHandler(pool, token), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// newHandler serves GET /readyz (open) and GET /v1/accounts/:id (token).
func newHandler(pool *pgxpool.Pool, token string) *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	want := []byte("Bearer " + token)
	e.GET("/readyz", func(c echo.Context) error {
		if err := pool.Ping(c.Request().Context()); err != nil {
			return echo.NewHTTPError(http.StatusServiceUnavailable, "the database is unreachable")
		}
		return c.NoContent(http.StatusOK)
	})
	e.GET("/v1/accounts/:id", func(c echo.Context) error {
		got := []byte(c.Request().Header.Get(echo.HeaderAuthorization))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			return echo.NewHTTPError(http.StatusUnauthorized, "a valid bearer token is required")
		}
		a, err := getAccount(c.Request().Context(), pool, c.Param("id"))
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, a)
	})
	return e
}

// account is the document Understudy answers, with the identity passed
// through as the database stores it.
type account struct {
	ID                string          `json:"id"`
	Environment       string          `json:"environment"`
	Role              string          `json:"role"`
	Slot              int             `json:"slot"`
	Generation        int             `json:"generation"`
	Status            string          `json:"status"`
	StatusReason      string          `json:"status_reason"`
	Identity          json.RawMessage `json:"identity"`
	PasswordRotatedAt time.Time       `json:"password_rotated_at"`
	CreatedAt         time.Time       `json:"created_at"`
	UpdatedAt         time.Time       `json:"updated_at"`
	RetiredAt         *time.Time      `json:"retired_at,omitempty"`
	// Tags are what any such service adds to mark the account synthetic.
	Tags map[string]string `json:"tags"`
}

// getAccountSQL is accounts.GetAccount's query: the same columns and joins.
const getAccountSQL = `SELECT a.id, e.name, r.name, a.slot, a.generation, a.status, a.status_reason, a.identity,
a.password_rotated_at, a.created_at, a.updated_at, a.retired_at
FROM accounts a JOIN environments e ON e.id = a.environment_id JOIN roles r ON r.id = a.role_id
WHERE a.id = $1`

// getAccount reads the account with id, or answers 404.
func getAccount(ctx context.Context, pool *pgxpool.Pool, id string) (account, error) {
	uid, err := uuid.Parse(id)
	if err != nil {
		return account{}, echo.NewHTTPError(http.StatusNotFound, "no such account")
	}
	var a account
	err = pool.QueryRow(ctx, getAccountSQL, uid).Scan(&a.ID, &a.Environment, &a.Role, &a.Slot, &a.Generation,
		&a.Status, &a.StatusReason, (*[]byte)(&a.Identity), &a.PasswordRotatedAt, &a.CreatedAt, &a.UpdatedAt, &a.RetiredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return account{}, echo.NewHTTPError(http.StatusNotFound, "no such account")
	}
	a.Tags = map[string]string{"is_synthetic": "true", "synthetic_role": a.Role, "synthetic_environment": a.Environment, "understudy_account_id": a.ID}
	return a, err
}
