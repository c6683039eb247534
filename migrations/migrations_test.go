package migrations_test

import (
	"testing"

	"github.com/understudy-dev/understudy/internal/dbtest"
	"github.com/understudy-dev/understudy/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Every migration goes down cleanly and up again: a down file that does
// not undo its up file is found here, not in production.
func TestMigrationsGoDownAndUpAgain(t *testing.T) {
	t.Parallel()
	url := dbtest.NewEmptyDatabase(t)
	g, err := migrations.Open(url, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	for range 2 {
		if err := g.Up(); err != nil {
			t.Fatal(err)
		}
		if v, dirty, _ := g.Version(); v != migrations.Latest() || dirty {
			t.Fatalf("after up: version %d dirty %v, want %d", v, dirty, migrations.Latest())
		}
		if err := g.Down(0); err != nil {
			t.Fatal(err)
		}
		if v, _, _ := g.Version(); v != 0 {
			t.Fatalf("after down: version %d, want 0", v)
		}
	}
}
