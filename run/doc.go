// Package run records what each lease was used for and how it ended: its
// run.
//
// # Runs and outcomes
//
// A test run leases an account (package lease), uses it and releases it.
// The lease may name its run, at acquire or later: the CI's run id, the
// flow (or test path) it exercises, the CI job's URL and the version under
// test (Naming). Its release records the outcome: passed, failed or
// errored, with a failure's message, the failed test's name and links to
// evidence kept elsewhere (Report). A lease that expires, its runner gone
// without a release, records abandoned.
//
// Every lease is a run. A lease that never named a run nor recorded an
// outcome is listed too, with empty fields and no outcome: that is what
// a runner that crashed before naming anything, or an old client, leaves,
// and an on-call engineer looking for what happened to an account must
// see it among the others (it ends abandoned when its lease expires, so a
// crashed runner shows as one).
//
// # Who writes what
//
// Package run owns the table runs (migration 000035), keyed by the lease's
// id: a row is written when a lease names its run or records an outcome,
// in the lease's own transaction. Package lease holds the leases and the
// rules (who may name a run, what a second release means); it calls this
// package's Queue functions (store.go) to add their statements to the
// batches of its transactions, so that a run named at acquire rides in
// the acquire's round trips and an outcome in the release's, costing no
// round trip of their own: QueueNew at acquire, QueueName in NameRun,
// QueueOutcome at release, QueueAbandon in the expiry. An outcome, once
// recorded, is final: the statements that write one, or a naming, change
// only a run without one.
//
// Neither package names the other's table. Package lease reads each
// lease's run through this package's view run_records (RecordView, Join,
// JoinedColumns), in the statement that reads the lease; this package
// lists the runs through lease's view lease_directory (LeaseView), newest
// first through its index on when each lease was acquired, paged by a
// cursor on that order (list.go).
//
// # Bounds
//
// Everything a runner sends is bounded (run.go): a flow's name matches
// FlowPattern; URLs are http or https with a host and no credentials, at
// most MaxURL characters; texts have no control characters (a message
// may have lines) and a length in characters; at most MaxLinks links.
// openapi.yaml states the same bounds. The table checks only a run's
// states (no outcome yet, or one of the four with its time): every
// CHECK costs each single-row write of a run its preparation, and a lease
// cycle writes its run twice (migration 000035 says how much).
//
// # Metrics
//
// Service.Observe counts each outcome once its transaction has committed
// (stats.go), by environment, role, flow and outcome, with its duration
// from the lease's acquisition to its end; the server serves the counts as
// understudy_runs_total and understudy_run_duration_seconds. Each replica
// counts what it records, as a Prometheus counter does. Flows are a label
// a runner chooses, so only Config.MetricFlows distinct names are kept
// apart; outcomes of any further flow are counted under OtherFlow.
package run
