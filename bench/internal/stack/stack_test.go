package stack

import (
	"testing"
	"time"
)

func TestWithDatabase(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/postgres?sslmode=disable&dbname=x": "postgres://u:p@h:5432/bench?sslmode=disable",
		"postgresql://h/":               "postgresql://h/bench",
		"host=h user=u dbname=postgres": "host=h user=u dbname=postgres dbname=bench",
	} {
		if got, err := WithDatabase(in, "bench"); err != nil || got != want {
			t.Errorf("WithDatabase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestParseStat(t *testing.T) {
	t.Parallel()
	// The command holds a space and a parenthesis; utime 250, stime 50.
	line := "4242 (under (stu) dy) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 0 0"
	d, err := ParseStat(line)
	if err != nil || d != 3*time.Second {
		t.Fatalf("ParseStat = %s, %v; want 3s", d, err)
	}
	if _, err := ParseStat("4242 (x) S 1 2"); err == nil {
		t.Error("ParseStat of a short line = nil error, want one")
	}
}
