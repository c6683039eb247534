package tagging

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// Outcomes of a sync run.
const (
	RunRunning = "running"
	RunOK      = "ok"
	// RunFailed: sending the difference failed; what was acknowledged
	// before the failure stays acknowledged, and the next run sends the rest.
	RunFailed = "failed"
	// RunPartial: the difference was sent, but the filter or the
	// verification failed.
	RunPartial = "partial"
)

// Actions a destination acknowledges, per distinct id.
const (
	ActionMark = "mark"
	ActionList = "list"
)

// staleRun is how long a run may hold its destination before another run
// may take it over (the replica that ran it died).
// Run is one sync run of a destination.
type Run struct {
	ID          string     `json:"id"`
	Environment string     `json:"environment"`
	Destination string     `json:"destination"`
	StartedAt   time.Time  `json:"started_at"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	// Added and Removed count the distinct ids that were sent to be added
	// or removed; Unchanged those already acknowledged.
	Added     int `json:"added"`
	Removed   int `json:"removed"`
	Unchanged int `json:"unchanged"`
	// Requests is how many HTTP requests the publisher sent (retries
	// included).
	Requests     *int   `json:"requests,omitempty"`
	Outcome      string `json:"outcome"`
	Error        string `json:"error,omitempty"`
	Verification string `json:"verification,omitempty"`
	RequestID    string `json:"request_id,omitempty"`
}

// Change is one distinct id a run adds or removes, with the actions it
// takes (mark, list).
type Change struct {
	DistinctID string   `json:"distinct_id"`
	AccountID  string   `json:"account_id"`
	Actions    []string `json:"actions"`
}

// Plan is the difference a run would send: what a dry run returns.
type Plan struct {
	Environment string   `json:"environment"`
	Destination string   `json:"destination"`
	Add         []Change `json:"add"`
	Remove      []Change `json:"remove"`
	Unchanged   int      `json:"unchanged"`
	// Requests are the requests the sync would send, in order, secrets
	// redacted (empty when the publisher cannot preview them: see Note).
	Requests []PreviewRequest `json:"requests"`
	// Note says why Requests is empty although there is something to send.
	Note string `json:"note,omitempty"`
}

const (
	// identitiesSQL lists every account with an identifier on the
	// environment's list (not forgotten), with its role and app refs, in
	// no order. The list is read twice, by hash (a semi-join for the
	// accounts, the app refs alone for the refs), not joined row by row to
	// the accounts and grouped: 0.75–1.1 s instead of 1.3–2.2 s for
	// 1,000,000 identifiers (bench/README.md, "Analytics sync (issue 7)").
	// The accounts, their roles' names and the environment's id are
	// package accounts', read through its views.
	identitiesSQL = `
SELECT a.id::text, a.email, a.username, a.role, coalesce(refs.refs, '{}')
FROM ` + accounts.AccountDirectory + ` a
LEFT JOIN (SELECT x.account_id, jsonb_object_agg(x.source, substr(x.identifier, length(x.source) + 2)) AS refs
           FROM exclusions x JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = x.environment_id
           WHERE e.name = $1 AND NOT x.forgotten AND x.kind = 'app_ref' GROUP BY x.account_id) refs ON refs.account_id = a.id
WHERE a.id IN (SELECT x.account_id FROM exclusions x JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = x.environment_id
               WHERE e.name = $1 AND NOT x.forgotten)`
	insertAcksSQL = `
INSERT INTO destination_acks (destination_id, action, distinct_id, account_id, acked_at)
SELECT $1, $2, d, a::uuid, $5 FROM unnest($3::text[], $4::text[]) AS t (d, a)
ON CONFLICT (destination_id, action, distinct_id) DO UPDATE SET account_id = EXCLUDED.account_id, acked_at = EXCLUDED.acked_at`
	deleteAcksSQL = `DELETE FROM destination_acks WHERE destination_id = $1 AND action = $2 AND distinct_id = ANY($3)`
	startRunSQL   = `
INSERT INTO sync_runs (destination_id, started_at, request_id, list_version) VALUES ($1, $2, $3, $4)
RETURNING id`
	abandonSQL = `
UPDATE sync_runs SET outcome = 'failed', ended_at = $2, error = 'abandoned: the run did not finish (its server stopped)'
WHERE destination_id = $1 AND outcome = 'running'`
	endRunSQL = `
UPDATE sync_runs SET ended_at = $2, added = $3, removed = $4, unchanged = $5, requests = $6, outcome = $7, error = $8, verification = $9
WHERE id = $1`
	runColumns  = `r.id, e.name, d.name, r.started_at, r.ended_at, r.added, r.removed, r.unchanged, r.requests, r.outcome, r.error, r.verification, r.request_id`
	listRunsSQL = `SELECT ` + runColumns + ` FROM sync_runs r JOIN destinations d ON d.id = r.destination_id
JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = d.environment_id
WHERE ($1 = '' OR e.name = $1) AND ($2 = '' OR d.name = $2) ORDER BY r.started_at DESC, r.id LIMIT $3`
)

func scanRun(row pgx.Row, r *Run) error {
	return row.Scan(&r.ID, &r.Environment, &r.Destination, &r.StartedAt, &r.EndedAt, &r.Added, &r.Removed, &r.Unchanged,
		&r.Requests, &r.Outcome, &r.Error, &r.Verification, &r.RequestID)
}

// Runs lists the latest runs (at most limit, newest first), of one
// environment and destination when named.
func (s *Service) Runs(ctx context.Context, env, destination string, limit int) ([]Run, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	return pgdb.QueryAll(ctx, s.db, scanRun, listRunsSQL, env, destination, limit)
}

// actionsOf returns the acknowledged actions the publisher does.
func actionsOf(pub Publisher) []string {
	var out []string
	if _, ok := pub.(Marker); ok {
		out = append(out, ActionMark)
	}
	if _, ok := pub.(Lister); ok && slices.Contains(pub.Capabilities(), CapList) {
		out = append(out, ActionList)
	}
	return out
}

// changes flattens one side of a diff into one Change per distinct id.
func changes[T any](side map[string][]T, ids func(T) (distinctID, accountID string)) []Change {
	byID := map[string]*Change{}
	var order []string
	for _, action := range []string{ActionMark, ActionList} {
		for _, x := range side[action] {
			distinctID, accountID := ids(x)
			c := byID[distinctID]
			if c == nil {
				c = &Change{DistinctID: distinctID, AccountID: accountID}
				byID[distinctID] = c
				order = append(order, distinctID)
			}
			c.Actions = append(c.Actions, action)
		}
	}
	slices.Sort(order)
	out := make([]Change, len(order))
	for i, k := range order {
		out[i] = *byID[k]
	}
	return out
}

// DryRun computes what a sync of destination name would send, sending
// nothing. Secrets are never part of it. Errors: ENOTFOUND, EINVALID.
func (s *Service) DryRun(ctx context.Context, env, name string) (Plan, error) {
	d, err := s.Get(ctx, env, name)
	if err != nil {
		return Plan{}, err
	}
	pub, _, err := s.publisher(ctx, d, s.client)
	if err != nil {
		return Plan{}, err
	}
	df, err := s.compute(ctx, d, pub)
	if err != nil {
		return Plan{}, err
	}
	add := changes(df.add, func(w wanted) (string, string) { return w.distinctID, w.accountID })
	remove := changes(df.remove, func(id SyntheticUser) (string, string) { return id.DistinctID, id.AccountID })
	plan := Plan{Environment: env, Destination: name, Add: nonNilChanges(add), Remove: nonNilChanges(remove),
		Unchanged: df.unchanged, Requests: []PreviewRequest{}}
	if df.empty() {
		return plan, nil
	}
	pv, ok := pub.(Previewer)
	if !ok {
		plan.Note = "the " + d.Kind + " publisher cannot show its requests before sending them"
		return plan, nil
	}
	if plan.Requests, err = previewDiff(pv, df); err != nil {
		return Plan{}, understudy.Errorf(understudy.EINVALID, "destination %s: %v", d.Name, err)
	}
	return plan, nil
}

// previewDiff previews the requests send would make for df, in its order:
// list removals, unmarks, marks, list additions.
func previewDiff(pv Previewer, df diff) ([]PreviewRequest, error) {
	out := []PreviewRequest{}
	steps := []struct {
		ids     []SyntheticUser
		remove  bool
		preview string
	}{
		{df.remove[ActionList], true, PreviewListRemove},
		{df.remove[ActionMark], true, PreviewUnmark},
		{df.identities(df.add[ActionMark]), false, PreviewMark},
		{df.identities(df.add[ActionList]), false, PreviewListAdd},
	}
	for _, st := range steps {
		if len(st.ids) == 0 {
			continue
		}
		reqs, err := pv.Preview(st.ids, st.remove)
		if err != nil {
			return nil, err
		}
		for _, r := range reqs {
			if r.Action == st.preview {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

func nonNilChanges(c []Change) []Change {
	if c == nil {
		return []Change{}
	}
	return c
}

// SyncOptions says how a run compares.
type SyncOptions struct {
	// Full compares the whole list with what the destination acknowledged
	// even when the list has not moved since the last run that ended ok
	// (a run without it then sends nothing and reads neither). Defaults to
	// false.
	Full bool
}

// Sync runs a sync of destination name of environment env: it sends the
// difference between the exclusion list and what the destination
// acknowledged, then ensures the filter and verifies, and records the run.
// When the list is at the version the destination's last ok run started
// from, and neither the destination nor its publisher's actions changed
// since, the run sends nothing without reading the list (unless
// opts.Full). A vendor's failure is a run with outcome failed or partial,
// not an error. Errors: ENOTFOUND, ECONFLICT (a run of this destination is
// under way), EINVALID (the destination no longer builds).
func (s *Service) Sync(ctx context.Context, env, name string, opts SyncOptions) (Run, error) {
	d, err := s.Get(ctx, env, name)
	if err != nil {
		return Run{}, err
	}
	return s.syncDestination(ctx, d, opts)
}

// syncByIDSQL reads a destination by id with its environment's name,
// through package accounts' view of environments, in one statement.
const syncByIDSQL = `SELECT e.name, ` + destinationColumns + ` FROM destinations d
JOIN ` + accounts.EnvironmentDirectory + ` e ON e.id = d.environment_id WHERE d.id::text = $1`

// SyncByID is Sync for the destination with id (the job's form), without
// SyncOptions.Full.
func (s *Service) SyncByID(ctx context.Context, id string) (Run, error) {
	d, err := pgdb.QueryOne(ctx, s.db, func(row pgx.Row, d *Destination) error { return scanDestination(row, d, &d.Environment) }, "no destination has id "+id,
		syncByIDSQL, id)
	if err != nil {
		return Run{}, err
	}
	return s.syncDestination(ctx, d, SyncOptions{})
}

func (s *Service) syncDestination(ctx context.Context, d Destination, opts SyncOptions) (Run, error) {
	var count atomic.Int64
	client := &http.Client{Timeout: s.client.Timeout, Transport: countingTransport{next: s.client.Transport, n: &count}}
	pub, scrub, err := s.publisher(ctx, d, client)
	if err != nil {
		return Run{}, err
	}
	release, err := s.lockRun(ctx, d)
	if err != nil {
		return Run{}, err
	}
	defer release()
	actions := actionsOf(pub)
	run, st, err := s.startRun(ctx, d, actions, opts.Full)
	if err != nil {
		return Run{}, err
	}
	if st.unmoved {
		run.Unchanged, run.Outcome, run.Verification = st.identities, RunOK, "nothing to send: the list has not changed since the last run"
		run.Requests = new(0)
		return s.endRun(ctx, d, run, nil, scrub, nil)
	}
	df, err := s.compute(ctx, d, pub)
	if err == nil {
		err = s.addDistinctIDs(ctx, s.db, d, df.want)
	}
	if err == nil {
		run.Unchanged = df.unchanged
		err = s.send(ctx, d, pub, df, &run, st.inSync)
	}
	n := int(count.Load())
	run.Requests = &n
	reached := &synced{version: st.version, actions: append([]string{}, actions...), identities: len(df.want)}
	return s.endRun(ctx, d, run, err, scrub, reached)
}

// lockRunSQL takes the destination's run lock for as long as the
// transaction that holds it stays open: if the server running the sync dies,
// its connection closes and the lock goes with it.
const lockRunSQL = `SELECT pg_try_advisory_xact_lock(hashtextextended('understudy.sync.' || $1::text, 0))`

// lockRun takes the destination's run lock, across replicas, or answers
// ECONFLICT when a run of it is under way. release ends the transaction
// that holds it.
func (s *Service) lockRun(ctx context.Context, d Destination) (release func(), err error) {
	pool, ok := s.db.(interface {
		BeginTx(context.Context, pgx.TxOptions) (pgx.Tx, error)
	})
	if !ok {
		// s.db is itself a transaction (in tests): nothing runs beside it,
		// and a lock taken in a nested transaction would roll back the run.
		return func() {}, nil
	}
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	release = func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }
	var got bool
	if err := tx.QueryRow(ctx, lockRunSQL, d.ID).Scan(&got); err != nil {
		release()
		return nil, pgdb.Translate(err, "", "")
	}
	if !got {
		release()
		return nil, understudy.Errorf(understudy.ECONFLICT, "a sync of destination %s is already running; try again when it ends", d.Name)
	}
	return release, nil
}

// runStart is what a run knows once recorded: the list's version it
// starts from, and what the destination was known to hold.
type runStart struct {
	version int64
	// inSync: the last run that ended ok left the destination holding the
	// list of its version, at the destination's current revision.
	inSync bool
	// unmoved: inSync, at the list's current version, with the same
	// actions, and the run is not full: there is nothing to send.
	unmoved    bool
	identities int
}

// synced is what an ok run leaves the destination holding: the list at
// version, through actions, identities distinct ids in all.
type synced struct {
	version    int64
	actions    []string
	identities int
}

const (
	syncedStateSQL = `SELECT synced_list_version, synced_actions, synced_identities FROM destinations WHERE id = $1`
	// forgetSyncedSQL: a run that compares may change what the destination
	// holds; until it ends ok, nothing is known of it.
	forgetSyncedSQL = `UPDATE destinations SET synced_list_version = NULL WHERE id = $1`
	// setSyncedSQL records what an ok run reached, unless the destination
	// changed while it ran.
	setSyncedSQL = `UPDATE destinations SET synced_list_version = $2, synced_actions = $3, synced_identities = $4 WHERE id = $1 AND revision = $5`
)

// startRun records a running run, with the version of its environment's
// list it starts from (ReadHead), and tells whether the destination holds
// that list already (runStart.unmoved): every input of what a destination
// should hold is an identifier on the list, whose addition or forgetting
// moves its version (accounts' emails and usernames are never updated, and
// the list's trigger adds an app ref's new value), and only runs write
// what it acknowledged. Otherwise the destination's recorded state is
// forgotten in the same transaction. The caller holds the run lock, so a
// run still marked running was left by a server that died: it is recorded
// as abandoned, and this run resumes after what the destination
// acknowledged.
func (s *Service) startRun(ctx context.Context, d Destination, actions []string, full bool) (Run, runStart, error) {
	run := Run{Environment: d.Environment, Destination: d.Name, StartedAt: s.now(), Outcome: RunRunning, RequestID: access.RequestID(ctx)}
	var st runStart
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		h, err := ReadHead(ctx, tx, d.Environment)
		if err != nil {
			return err
		}
		st = runStart{version: h.Version}
		var version *int64
		var was []string
		if err := tx.QueryRow(ctx, syncedStateSQL, d.ID).Scan(&version, &was, &st.identities); err != nil {
			return pgdb.Translate(err, "no destination has id "+d.ID, "")
		}
		st.inSync = version != nil
		st.unmoved = st.inSync && !full && *version == h.Version && slices.Equal(was, actions)
		if !st.unmoved && st.inSync {
			if _, err := tx.Exec(ctx, forgetSyncedSQL, d.ID); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, abandonSQL, d.ID, run.StartedAt); err != nil {
			return err
		}
		return pgdb.Translate(tx.QueryRow(ctx, startRunSQL, d.ID, run.StartedAt, run.RequestID, h.Version).Scan(&run.ID), "",
			"a sync of destination "+d.Name+" is already running; try again when it ends")
	})
	return run, st, err
}

// send sends df through pub, recording each acknowledged batch, then
// ensures the filter and verifies. With nothing to send it does neither
// while the destination was in sync (runStart.inSync): after a run that
// failed or was partial, or a change of the destination, it does. Only a
// sending error is returned; a filter or verification error makes the run
// partial.
func (s *Service) send(ctx context.Context, d Destination, pub Publisher, df diff, run *Run, inSync bool) error {
	run.Added = unionCount(func(w wanted) string { return w.distinctID }, df.add[ActionMark], df.add[ActionList])
	run.Removed = unionCount(func(id SyntheticUser) string { return id.DistinctID }, df.remove[ActionMark], df.remove[ActionList])
	if df.empty() && inSync {
		run.Outcome, run.Verification = RunOK, "nothing to send"
		return nil
	}
	m, _ := pub.(Marker)
	l, _ := pub.(Lister)
	steps := []struct {
		ids    func() iter.Seq[[]SyntheticUser]
		action string
		add    bool
		fn     func(context.Context, []SyntheticUser, Ack) error
	}{
		{removals(df.remove[ActionList]), ActionList, false, func(c context.Context, ids []SyntheticUser, a Ack) error { return l.RemoveFromList(c, ids, a) }},
		{removals(df.remove[ActionMark]), ActionMark, false, func(c context.Context, ids []SyntheticUser, a Ack) error { return m.Unmark(c, ids, a) }},
		{df.additions(df.add[ActionMark]), ActionMark, true, func(c context.Context, ids []SyntheticUser, a Ack) error { return m.Mark(c, ids, a) }},
		{df.additions(df.add[ActionList]), ActionList, true, func(c context.Context, ids []SyntheticUser, a Ack) error { return l.AddToList(c, ids, a) }},
	}
	for _, st := range steps {
		for ids := range st.ids() {
			if err := st.fn(ctx, ids, s.ack(d.ID, st.action, st.add)); err != nil {
				return fmt.Errorf("%s (%s): %w", verb(st.action, st.add), d.Name, err)
			}
		}
	}
	run.Outcome = RunOK
	if f, ok := pub.(Filterer); ok && slices.Contains(pub.Capabilities(), CapFilter) {
		if _, err := f.EnsureFilter(ctx); err != nil {
			run.Outcome, run.Error = RunPartial, "ensuring the filter: "+err.Error()
		}
	}
	run.Verification = "not verifiable"
	if v, ok := pub.(Verifier); ok && slices.Contains(pub.Capabilities(), CapVerify) {
		res, err := v.VerifyExcluded(ctx, df.identities(df.want))
		if err != nil {
			run.Outcome, run.Verification = RunPartial, "verification failed"
			run.Error = joinText(run.Error, "verifying: "+err.Error())
		} else {
			run.Verification = fmt.Sprintf("verified: %d visible of %d", len(res.Visible), res.Checked)
		}
	}
	return nil
}

func joinText(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func verb(action string, add bool) string {
	switch {
	case action == ActionMark && add:
		return "marking"
	case action == ActionMark:
		return "unmarking"
	case add:
		return "adding to the list"
	}
	return "removing from the list"
}

// ack records an accepted batch at once, in its own transaction.
func (s *Service) ack(destID, action string, add bool) Ack {
	return func(ctx context.Context, done []SyntheticUser) error {
		ids := make([]string, len(done))
		accts := make([]string, len(done))
		for i, id := range done {
			ids[i], accts[i] = id.DistinctID, id.AccountID
		}
		var err error
		if add {
			_, err = pgdb.Exec(ctx, s.db, "", insertAcksSQL, destID, action, ids, accts, s.now())
		} else {
			_, err = pgdb.Exec(ctx, s.db, "", deleteAcksSQL, destID, action, ids)
		}
		if err != nil {
			return fmt.Errorf("recording what the destination acknowledged: %w", err)
		}
		return nil
	}
}

// endRun records the run's end and the destination's health, audited in
// one transaction, and, for a run that compared and ended ok, what it
// reached. What the run says of the vendor passes through scrub first.
func (s *Service) endRun(ctx context.Context, d Destination, run Run, sendErr error, scrub *Scrubber, reached *synced) (Run, error) {
	end := s.now()
	run.EndedAt = &end
	if sendErr != nil {
		run.Outcome, run.Error = RunFailed, safeRunError(sendErr)
	}
	run.Error, run.Verification = scrub.Scrub(run.Error), scrub.Scrub(run.Verification)
	health, detail := HealthHealthy, "sync: "+run.Outcome
	if run.Outcome != RunOK {
		health, detail = HealthUnhealthy, "sync "+run.Outcome+": "+run.Error
	}
	// The run is recorded even when the caller's context ended.
	ctx = context.WithoutCancel(ctx)
	err := pgdb.InTx(ctx, s.db, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, endRunSQL, run.ID, end, run.Added, run.Removed, run.Unchanged, run.Requests, run.Outcome, run.Error, run.Verification); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, setHealthSQL, d.ID, health, detail, end); err != nil {
			return err
		}
		if reached != nil && run.Outcome == RunOK {
			if _, err := tx.Exec(ctx, setSyncedSQL, d.ID, reached.version, reached.actions, reached.identities, d.revision); err != nil {
				return err
			}
		}
		return access.Record(ctx, tx, access.Event{Action: "destination.sync", TargetType: "destination", TargetID: d.ID,
			Details: map[string]any{"environment": d.Environment, "name": d.Name, "run": run.ID, "outcome": run.Outcome,
				"added": run.Added, "removed": run.Removed, "unchanged": run.Unchanged, "compared": reached != nil}})
	})
	if err != nil {
		return run, err
	}
	if sendErr != nil {
		s.logger.WarnContext(ctx, "sync run failed", "destination", d.Name, "environment", d.Environment, "run", run.ID, "error", run.Error)
	}
	return run, nil
}

// safeRunError is what a run records of an error: a publisher's error
// (already free of secrets) as it reads, anything else as its safe message.
func safeRunError(err error) string {
	if errors.Is(err, ErrCredentials) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRejected) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err.Error()
	}
	return understudy.ErrorMessage(err)
}

// countingTransport counts the requests a run sends.
type countingTransport struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (t countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(req)
}
