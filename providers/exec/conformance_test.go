package exec_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/bcrypt"

	"github.com/understudy-dev/understudy/examples/chirp"
	"github.com/understudy-dev/understudy/examples/chirp/chirptest"
	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/providers"
	"github.com/understudy-dev/understudy/providers/exec"
	"github.com/understudy-dev/understudy/providers/providertest"
)

// binDir holds the programs that the tests build; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	var err error
	if binDir, err = os.MkdirTemp("", "understudy-exec-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(binDir)
	os.Exit(code)
}

var (
	adapterOnce sync.Once
	adapterPath string
	adapterErr  error
)

// chirpExec builds chirp's exec adapter, once per test binary.
func chirpExec(t *testing.T) string {
	t.Helper()
	adapterOnce.Do(func() {
		adapterPath = filepath.Join(binDir, "chirp-exec")
		cmd := osexec.Command("go", "build", "-o", adapterPath, "github.com/understudy-dev/understudy/examples/chirp/cmd/chirp-exec")
		if out, err := cmd.CombinedOutput(); err != nil {
			adapterErr = fmt.Errorf("go build chirp-exec: %v\n%s", err, out)
		}
	})
	if adapterErr != nil {
		t.Fatal(adapterErr)
	}
	return adapterPath
}

// newChirpProgram is an exec provider running chirp-exec on a fresh chirp
// database, and chirp's Go API on the same database.
func newChirpProgram(t *testing.T) (providers.App, *chirp.App, *pgxpool.Pool) {
	t.Helper()
	pool := dbtest.NewPool(t)
	if err := chirp.Migrate(t.Context(), pool); err != nil {
		t.Fatalf("chirp.Migrate: %v", err)
	}
	app, err := chirp.New(chirp.Config{DB: pool, PasswordCost: bcrypt.MinCost})
	if err != nil {
		t.Fatalf("chirp.New: %v", err)
	}
	// The cheapest bcrypt cost: the default takes a second a hash under the race detector.
	settings, _ := json.Marshal(exec.Settings{Command: []string{chirpExec(t)}, Timeout: "30s",
		Env: map[string]string{"CHIRP_PASSWORD_COST": strconv.Itoa(bcrypt.MinCost)}})
	provider, err := exec.Factory(t.Context(), providers.Config{
		App:      "chirp",
		Settings: settings,
		Secrets:  map[string]string{"CHIRP_DATABASE_URL": pool.Config().ConnString()},
	})
	if err != nil {
		t.Fatalf("exec.Factory: %v", err)
	}
	return provider, app, pool
}

// TestConformance runs the provider suite against chirp's exec adapter.
func TestConformance(t *testing.T) {
	t.Parallel()
	provider, app, pool := newChirpProgram(t)
	providertest.Run(t, func(t *testing.T) providertest.Harness { return chirptest.Harness(provider, app, pool) })
}

func TestChirpExecTest(t *testing.T) {
	t.Parallel()
	provider, _, _ := newChirpProgram(t)
	if err := provider.(providers.Tester).Test(t.Context()); err != nil {
		t.Errorf("Test of chirp-exec: %v", err)
	}

	// The database is gone: the adapter answers "unavailable", and the
	// message does not show the URL, which holds a password in real life.
	const url = "postgres://chirp:Zq9-s3cr3t-Xw7@127.0.0.1:1/chirp?connect_timeout=2"
	p, err := exec.New(exec.Config{App: "chirp", Command: []string{chirpExec(t)}, Secrets: map[string]string{"CHIRP_DATABASE_URL": url}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Test(t.Context())
	if !errors.Is(err, providers.ErrUnavailable) {
		t.Errorf("Test of chirp-exec without its database: %v, want ErrUnavailable", err)
	}
	if err != nil && strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q shows the database password", err)
	}
}
