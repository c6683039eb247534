package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is every driver's result, in the order they ran.
type Report struct {
	Full    bool     `json:"full"`
	Results []result `json:"results"`
}

// Failed reports whether a driver failed.
func (r Report) Failed() bool {
	for _, res := range r.Results {
		if res.Failure != "" {
			return true
		}
	}
	return false
}

// Write prints the report: the RATIO lines, a table of the targets, then
// the failures; or the report as JSON.
func (r Report) Write(w io.Writer, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	var pass, miss, failed int
	for _, res := range r.Results {
		for _, x := range res.Ratios {
			fmt.Fprintln(w, x)
			if x.Verdict == "PASS" {
				pass++
			} else {
				miss++
			}
		}
		if res.Failure != "" {
			failed++
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "driver\ttarget\tmeasured\tbound\tverdict\ttime\t")
	for _, res := range r.Results {
		for _, x := range res.Ratios {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t\n", res.Driver, x.Name, x.Measured, x.Target, x.Verdict, res.Elapsed.Round(time.Second))
		}
		if res.Failure != "" {
			fmt.Fprintf(tw, "%s\t-\t-\t-\tFAILED\t%s\t\n", res.Driver, res.Elapsed.Round(time.Second))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if res.Failure == "" {
			continue
		}
		fmt.Fprintf(w, "\nFAILED %s: %s\n", res.Driver, res.Failure)
		if res.StderrTail != "" {
			fmt.Fprintf(w, "  its stderr ends:\n    %s\n", strings.ReplaceAll(res.StderrTail, "\n", "\n    "))
		} else if res.StdoutTail != "" {
			fmt.Fprintf(w, "  its stderr is empty; its output ends:\n    %s\n", strings.ReplaceAll(res.StdoutTail, "\n", "\n    "))
		}
	}
	mode := "short"
	if r.Full {
		mode = "full"
	}
	_, err := fmt.Fprintf(w, "\n%d targets (%s mode): %d PASS, %d MISS; %d of %d drivers failed.\n", pass+miss, mode, pass, miss, failed, len(r.Results))
	return err
}
