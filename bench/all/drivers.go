package main

// driver is one benchmark all runs: a command built with go build, or a
// package's test binary (built with go test -c) running its benchmarks.
type driver struct {
	// Name names the driver in the report and in -only.
	Name string
	// Package is the package to build, relative to the module's root.
	Package string
	// Test builds the package's test binary; it then runs in the package's
	// directory, as go test runs it.
	Test bool
	// Bin passes -bin with the server binary all built.
	Bin bool
	// Args are passed in both modes; Short in the default mode, Full with
	// -full (nil: the driver's own defaults, the runs of bench/README.md).
	Args, Short, Full []string
}

// drivers are the benchmarks all runs, in this order. This table is the
// one place that knows them and their flags.
var drivers = []driver{
	{Name: "load", Package: "./bench/load", Bin: true,
		Short: []string{"-short"}, Full: []string{"-rounds", "6", "-duration", "12s"}},
	{Name: "lease", Package: "./bench/lease", Bin: true,
		Short: []string{"-duration", "3s", "-warmup", "1s"}, Full: []string{"-rounds", "5"}},
	{Name: "spec", Package: "./bench/spec", Bin: true,
		Short: []string{"-short"}},
	{Name: "sync", Package: "./bench/sync", Bin: true,
		Short: []string{"-accounts", "33334", "-again", "1"}},
	{Name: "inbox", Package: "./bench/inbox", Bin: true,
		Short: []string{"-duration", "3s", "-warmup", "1s"}, Full: []string{"-rounds", "3"}},
	{Name: "isolation", Package: "./bench/isolation", Bin: true,
		Short: []string{"-short"}},
}

// args are the driver's arguments in the mode, with the server binary bin.
func (d driver) args(full bool, bin string) []string {
	out := append([]string{}, d.Args...)
	if d.Bin {
		out = append(out, "-bin", bin)
	}
	if full {
		return append(out, d.Full...)
	}
	return append(out, d.Short...)
}
