package stack

import (
	"flag"
	"os"
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

func TestParseStatus(t *testing.T) {
	t.Parallel()
	status := "Name:\tunderstudy\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t9\n"
	m, err := ParseStatus([]byte(status))
	if err != nil || m.RSS != 40<<20 || m.Peak != 50<<20 {
		t.Fatalf("ParseStatus = %+v, %v; want RSS 40 MiB, peak 50 MiB", m, err)
	}
	if _, err := ParseStatus([]byte("Name:\tkthreadd\nThreads:\t1\n")); err == nil {
		t.Error("ParseStatus of a kernel thread's status = nil error, want one")
	}
	if _, err := ParseStatus([]byte("VmHWM:\t12 MB\nVmRSS:\t1 kB\n")); err == nil {
		t.Error("ParseStatus of a size in MB = nil error, want one")
	}
}

func TestProcessMemory(t *testing.T) {
	t.Parallel()
	m, err := ProcessMemory(os.Getpid())
	if err != nil {
		t.Skipf("no /proc here: %v", err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS {
		t.Errorf("ProcessMemory(self) = %+v, want a resident set under its peak", m)
	}
}

// Unset sets the defaults of the flags the command line did not give, and
// leaves the given ones as given.
func TestUnsetLeavesGivenFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	a := fs.Int("a", 1, "")
	b := fs.Int("b", 1, "")
	if err := fs.Parse([]string{"-a", "5"}); err != nil {
		t.Fatal(err)
	}
	Unset(fs, map[string]func(){"a": func() { *a = 9 }, "b": func() { *b = 9 }})
	if *a != 5 || *b != 9 {
		t.Errorf("a = %d, b = %d; want 5 (given) and 9 (defaulted)", *a, *b)
	}
}
