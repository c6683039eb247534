package stack

import "testing"

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
