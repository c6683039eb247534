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
// # The account's state at failure
//
// A failed, errored or abandoned run keeps its account's state as its
// evidence (Captures, capture.go; tables run_captures and
// run_capture_apps, migration 000036). With lease.Config.Captures, the
// transaction that ends such a lease (its release with that outcome, or
// its expiry) holds its account, status capturing, instead of freeing it
// (accounts.QueueHold), and records its capture pending (QueueCapture);
// no claim takes a capturing account, so the next lease of it waits. Once
// that has committed, the capture's job is enqueued (Enqueue: River,
// unique per lease). The job (Capture) reads the account's state in each
// app through snapshot.Service.Evidence, off the request path and in
// parallel, each within the app timeout; keeps each app's canonical
// state (gzip'd), its hash, and its difference from the newest version
// of the state the lease reset the account to (at most
// MaxCaptureChanges changes, MaxCaptureChangeBytes of them; the diff
// itself is bounded, snapshot.DiffN); and frees the account, in one
// transaction with its audit event (run.capture). When the release asked
// for a reset (a reset before the capture would lose the evidence), the
// account is reset once that transaction has committed, then freed: only
// the job whose capture moved from pending resets, so a capture the sweep
// failed never resets an account another run may hold by then. A hold
// names its lease (accounts.QueueHold's reason), and only that lease's
// capture frees it (accounts.QueueUnhold). An app that is down or answers
// badly fails the capture, naming the app, and the account is freed all
// the same. The jobs run on a River queue of their own (CaptureQueue).
//
// A capture never holds an account for long. Its job is enqueued off the
// release's path, once the lease's end has committed; the sweep (every
// minute) enqueues again a capture still pending after 30 s (Requeue: an
// enqueue lost with its server), fails what is pending past the deadline
// (CaptureConfig.Deadline, five minutes) and frees the account
// (FailStale), and frees an account still held by a capture that
// finished a deadline ago (its job stopped before the reset). The
// captures past their environment's capture_retention_seconds (30 days
// unless set) are deleted by the same periodic job (Prune).
//
// An outcome recorded after the lease's end (a release without an
// outcome, then another with one) captures nothing: by then the account
// may already serve another run.
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
