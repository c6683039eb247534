package localpg

import (
	"cmp"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ErrNoBinaries is returned (wrapped) by Validate and Start when no
// PostgreSQL binaries can be found on the machine.
var ErrNoBinaries = errors.New("no PostgreSQL binaries (initdb, pg_ctl) found: install the postgresql package (e.g. `apt-get install postgresql`) or set Config.BinDir")

// unsafeDirChars are the characters Config.Dir may not contain: pg_ctl hands
// the data directory and the server options to /bin/sh inside quotes, and
// unix_socket_directories is a comma-separated list.
const unsafeDirChars = "'\"$`\\,\n"

// maxSocketPath is the longest path a unix socket address can hold on Linux
// (sun_path is 108 bytes including the terminating NUL).
const maxSocketPath = 107

// Config configures a private PostgreSQL cluster.
type Config struct {
	// Dir is the folder that holds the cluster: data/ (the data directory),
	// postgres.log (the server log) and run/ (the unix socket), for example
	// ".understudy/pg". A relative path is taken from the working directory.
	// Required; it has no default.
	Dir string
	// BinDir is the folder holding initdb and pg_ctl. Defaults to the output
	// of `pg_config --bindir` if it contains initdb, else the newest
	// /usr/lib/postgresql/*/bin containing initdb, else the directory of
	// `initdb` on PATH.
	BinDir string
	// User is the OS user that runs initdb and the server when this process
	// is root (PostgreSQL refuses to run as root); it is ignored otherwise.
	// Defaults to "postgres" if that user exists, else "nobody".
	User string
	// Logger receives what the cluster does (started, reused, stopped) and,
	// at debug level, the output of initdb and pg_ctl. Defaults to a logger
	// that discards everything.
	Logger *slog.Logger
}

// WithDefaults returns c with its unset optional fields filled. Finding
// BinDir runs pg_config; if no binaries are found BinDir stays empty and
// Validate reports ErrNoBinaries.
func (c Config) WithDefaults() Config {
	if c.BinDir == "" {
		c.BinDir = findBinDir()
	}
	if c.User == "" {
		c.User = "nobody"
		if _, err := user.Lookup("postgres"); err == nil {
			c.User = "postgres"
		}
	}
	c.Logger = cmp.Or(c.Logger, slog.New(slog.DiscardHandler))
	return c
}

// Validate names the first missing or bad field of c.
func (c Config) Validate() error {
	if err := validateDir(c.Dir); err != nil {
		return err
	}
	if c.BinDir == "" {
		return fmt.Errorf("localpg: Config.BinDir: %w", ErrNoBinaries)
	}
	for _, tool := range []string{"initdb", "pg_ctl"} {
		if !isExecutable(filepath.Join(c.BinDir, tool)) {
			return fmt.Errorf("localpg: Config.BinDir: %s holds no executable %s", c.BinDir, tool)
		}
	}
	if os.Geteuid() == 0 {
		if _, err := lookupAccount(c.User); err != nil {
			return fmt.Errorf("localpg: Config.User: %w", err)
		}
	}
	return nil
}

func validateDir(dir string) error {
	if dir == "" {
		return errors.New("localpg: Config.Dir is required")
	}
	if strings.ContainsAny(dir, unsafeDirChars) {
		return fmt.Errorf("localpg: Config.Dir %q must not contain any of ' \" $ ` \\ , or a newline: pg_ctl passes it to the server through a shell", dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("localpg: Config.Dir %q: %w", dir, err)
	}
	if sock := socketFile(abs); len(sock) > maxSocketPath {
		return fmt.Errorf("localpg: Config.Dir %q is too deep: the socket path %s is %d bytes, over the %d a unix socket allows; choose a shorter Dir", dir, sock, len(sock), maxSocketPath)
	}
	return nil
}

// findBinDir returns the folder of the PostgreSQL binaries, or "" if there
// are none, in the order documented on Config.BinDir.
func findBinDir() string {
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); isExecutable(filepath.Join(dir, "initdb")) {
			return dir
		}
	}
	if dir := newestBinDir("/usr/lib/postgresql"); dir != "" {
		return dir
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// newestBinDir returns root/<version>/bin of the highest version that holds
// initdb, comparing versions numerically so that 15 beats 9.6.
func newestBinDir(root string) string {
	matches, _ := filepath.Glob(filepath.Join(root, "*", "bin", "initdb"))
	matches = slices.DeleteFunc(matches, func(p string) bool { return !isExecutable(p) })
	if len(matches) == 0 {
		return ""
	}
	version := func(p string) string { return filepath.Base(filepath.Dir(filepath.Dir(p))) }
	newest := slices.MaxFunc(matches, func(a, b string) int {
		return compareVersions(version(a), version(b))
	})
	return filepath.Dir(newest)
}

// compareVersions compares dotted numeric versions ("9.6" < "15");
// a part that is not a number counts as 0.
func compareVersions(a, b string) int {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := range max(len(pa), len(pb)) {
		var na, nb int
		if i < len(pa) {
			na, _ = strconv.Atoi(pa[i])
		}
		if i < len(pb) {
			nb, _ = strconv.Atoi(pb[i])
		}
		if c := cmp.Compare(na, nb); c != 0 {
			return c
		}
	}
	return 0
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}
