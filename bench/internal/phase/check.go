package phase

import (
	"fmt"
	"io"
)

// Check is one target, met or not.
type Check struct {
	// Name says what is measured, in which unit.
	Name string `json:"name"`
	// Measured is the figure.
	Measured float64 `json:"measured"`
	// Target is the bound Measured is held to.
	Target float64 `json:"target"`
	// Pass says whether the target is met.
	Pass bool `json:"pass"`
	// Summary is the line the text report prints.
	Summary string `json:"summary"`
}

// WriteChecks prints one line per check: its summary padded to width, then
// PASS or MISS.
func WriteChecks(w io.Writer, checks []Check, width int) error {
	for _, c := range checks {
		verdict := "MISS"
		if c.Pass {
			verdict = "PASS"
		}
		if _, err := fmt.Fprintf(w, "%-*s %s\n", width, c.Summary, verdict); err != nil {
			return err
		}
	}
	return nil
}

// WriteRatios prints one machine-readable line per check, in the format
// every driver shares and `go run ./bench/all` collects:
//
//	RATIO <name> <measured> <target> PASS|MISS
//
// name has no spaces; measured and target are printed with %g.
func WriteRatios(w io.Writer, checks []Check) error {
	for _, c := range checks {
		verdict := "MISS"
		if c.Pass {
			verdict = "PASS"
		}
		if _, err := fmt.Fprintf(w, "RATIO %s %g %g %s\n", c.Name, c.Measured, c.Target, verdict); err != nil {
			return err
		}
	}
	return nil
}
