package devcluster

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/understudy-dev/understudy/secret"
)

// The first run makes a key only its owner can read; later runs read the
// same key back, so what the first sealed still opens.
func TestSecretKeyIsMadeOnceAndKept(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), Dir, "secret.key")
	first, err := SecretKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := secret.ParseKey(first); err != nil {
		t.Fatalf("the development key %q does not parse: %v", "[redacted]", err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("the key file has mode %v, want 0600", st.Mode().Perm())
	}
	second, err := SecretKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Error("a second run made a new development key instead of reading the first")
	}
}

// A key file that cannot be read is an error naming it, not a new key.
func TestSecretKeyRefusesAnUnreadableFile(t *testing.T) {
	t.Parallel()
	path := t.TempDir() // a folder: reading it fails with something other than "does not exist"
	_, err := SecretKey(path)
	if err == nil || !strings.Contains(err.Error(), "reading the development secret key") {
		t.Fatalf("SecretKey(a folder) = %v, want an error reading the key", err)
	}
}

func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.WithDefaults()
	if c.Dir != filepath.Join(".understudy", "pg") || c.Logger == nil {
		t.Errorf("Config{}.WithDefaults() = %+v, want Dir .understudy/pg and a logger", c)
	}
	if c := (Config{Dir: "elsewhere"}).WithDefaults(); c.Dir != "elsewhere" {
		t.Errorf("WithDefaults replaced Dir %q with %q", "elsewhere", c.Dir)
	}
}
