package spec

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/access"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// An apply holds its workspace with a session advisory lock on a
// connection of its own, so the lock ends with the apply, or with the
// server if it dies; the workspace's row says who holds it and since when.
// A lock taken by hand is the row alone, until force-unlock.
const (
	advisorySQL   = `SELECT pg_try_advisory_lock(hashtextextended('understudy/spec/' || $1, 0))`
	unadvisorySQL = `SELECT pg_advisory_unlock(hashtextextended('understudy/spec/' || $1, 0))`
	// applyIdleSQL takes and drops the apply lock in one transaction: it
	// succeeds only when no apply holds the workspace.
	applyIdleSQL = `SELECT pg_try_advisory_xact_lock(hashtextextended('understudy/spec/' || $1, 0))`

	ensureWorkspaceSQL = `INSERT INTO spec_workspaces (name, created_at) VALUES ($1, coalesce($2::timestamptz, now())) ON CONFLICT (name) DO NOTHING`
	workspaceColumns   = `w.name, w.serial, (SELECT count(*) FROM spec_objects o WHERE o.workspace = w.name),
w.lock_holder, w.lock_reason, w.lock_plan_id::text, w.locked_at, w.last_applied_at, w.created_at`
	getWorkspaceSQL   = `SELECT ` + workspaceColumns + ` FROM spec_workspaces w WHERE w.name = $1`
	listWorkspacesSQL = `SELECT ` + workspaceColumns + ` FROM spec_workspaces w ORDER BY w.name`
	takeApplyLockSQL  = `UPDATE spec_workspaces SET lock_holder = $2, lock_plan_id = $3, lock_reason = 'apply', locked_at = coalesce($4::timestamptz, now())
WHERE name = $1 AND (lock_holder IS NULL OR lock_plan_id IS NOT NULL)`
	dropApplyLockSQL = `UPDATE spec_workspaces SET lock_holder = NULL, lock_plan_id = NULL, lock_reason = '', locked_at = NULL
WHERE name = $1 AND lock_plan_id = $2`
	takeLockSQL = `UPDATE spec_workspaces SET lock_holder = $2, lock_reason = $3, lock_plan_id = NULL, locked_at = coalesce($5::timestamptz, now())
WHERE name = $1 AND (lock_holder IS NULL OR (lock_plan_id IS NOT NULL AND $4))`
	dropLockSQL = `UPDATE spec_workspaces SET lock_holder = NULL, lock_plan_id = NULL, lock_reason = '', locked_at = NULL WHERE name = $1`
)

func scanWorkspace(row pgx.Row, w *Workspace) error {
	var holder, planID *string
	var reason string
	var since *time.Time
	if err := row.Scan(&w.Name, &w.Serial, &w.Objects, &holder, &reason, &planID, &since, &w.LastAppliedAt, &w.CreatedAt); err != nil {
		return err
	}
	if holder != nil && since != nil {
		w.Lock = &Lock{Holder: *holder, Since: *since, Reason: reason}
		if planID != nil {
			w.Lock.PlanID = *planID
		}
	}
	return nil
}

// applyIdle reports whether no apply holds workspace name now.
func (s *Service) applyIdle(ctx context.Context, name string) (bool, error) {
	var idle bool
	err := pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error { return tx.QueryRow(ctx, applyIdleSQL, name).Scan(&idle) })
	return idle, err
}

// live drops from w a lock left by an apply that died with its server.
func (s *Service) live(ctx context.Context, w *Workspace) error {
	if w.Lock == nil || w.Lock.PlanID == "" {
		return nil
	}
	idle, err := s.applyIdle(ctx, w.Name)
	if idle {
		w.Lock = nil
	}
	return err
}

// Workspaces lists every workspace by name.
func (s *Service) Workspaces(ctx context.Context) ([]Workspace, error) {
	ws, err := pgdb.QueryAll(ctx, s.cfg.DB, scanWorkspace, listWorkspacesSQL)
	for i := range ws {
		if err == nil {
			err = s.live(ctx, &ws[i])
		}
	}
	return ws, err
}

// Workspace returns one workspace, with the objects it manages.
// Errors: ENOTFOUND.
func (s *Service) Workspace(ctx context.Context, name string) (Workspace, error) {
	w, err := pgdb.QueryOne(ctx, s.cfg.DB, scanWorkspace, "workspace "+name+" does not exist (a workspace is made by its first apply)", getWorkspaceSQL, name)
	if err == nil {
		err = s.live(ctx, &w)
	}
	if err == nil {
		w.Managed, err = managedObjects(ctx, s.cfg.DB, name)
	}
	return w, err
}

// LockedType is the problem type of a refusal because another apply or a
// lock by hand holds the workspace: a client may retry it.
const LockedType = "workspace-locked"

func lockedError(w Workspace) error {
	var e *understudy.Error
	if w.Lock.PlanID != "" {
		e = understudy.Errorf(understudy.ECONFLICT, "workspace %s is locked: %s has been applying plan %s since %s; wait for it to finish",
			w.Name, w.Lock.Holder, w.Lock.PlanID, w.Lock.Since.UTC().Format(time.RFC3339))
	} else {
		e = understudy.Errorf(understudy.ECONFLICT, "workspace %s is locked by %s since %s (%s); it stays locked until `understudy workspaces force-unlock %s`",
			w.Name, w.Lock.Holder, w.Lock.Since.UTC().Format(time.RFC3339), w.Lock.Reason, w.Name)
	}
	e.Type = LockedType
	return e
}

// LockWorkspace locks a workspace by hand, so no apply runs until it is
// unlocked. Errors: EINVALID, ECONFLICT naming the holder.
func (s *Service) LockWorkspace(ctx context.Context, name, holder, reason string) (Workspace, error) {
	if !workspaceRE.MatchString(name) {
		return Workspace{}, understudy.Invalid("invalid workspace", understudy.FieldError{Field: "name", Detail: "must be 1-63 lower-case letters, digits or '-', starting with a letter"})
	}
	if _, err := s.cfg.DB.Exec(ctx, ensureWorkspaceSQL, name, pgdb.Now(s.cfg.Now)); err != nil {
		return Workspace{}, pgdb.Translate(err, "", "")
	}
	idle, err := s.applyIdle(ctx, name)
	if err != nil {
		return Workspace{}, err
	}
	var n int64
	err = pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, takeLockSQL, name, holder, reason, idle, pgdb.Now(s.cfg.Now))
		if n = tag.RowsAffected(); err != nil || n == 0 {
			return err
		}
		return access.Record(ctx, tx, access.Event{Action: "workspace.lock", TargetType: "workspace", TargetID: name, Details: map[string]any{"reason": reason}})
	})
	if err != nil {
		return Workspace{}, err
	}
	w, err := s.Workspace(ctx, name)
	if err == nil && n == 0 && w.Lock != nil {
		return w, lockedError(w)
	}
	return w, err
}

// UnlockWorkspace removes a lock taken by hand (force-unlock), or one left
// by an apply whose server died. An apply in progress cannot be unlocked:
// its lock ends with it. Errors: ENOTFOUND, ECONFLICT.
func (s *Service) UnlockWorkspace(ctx context.Context, name string) (Workspace, error) {
	w, err := s.Workspace(ctx, name)
	if err != nil {
		return w, err
	}
	if w.Lock != nil && w.Lock.PlanID != "" {
		return w, fmt.Errorf("%w; an apply in progress cannot be force-unlocked", lockedError(w))
	}
	err = pgdb.InTx(ctx, s.cfg.DB, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, dropLockSQL, name); err != nil {
			return err
		}
		details := map[string]any{"holder": nil}
		if w.Lock != nil {
			details = map[string]any{"holder": w.Lock.Holder, "since": w.Lock.Since, "reason": w.Lock.Reason}
		}
		return access.Record(ctx, tx, access.Event{Action: "workspace.unlock", TargetType: "workspace", TargetID: name, Details: details})
	})
	if err != nil {
		return w, err
	}
	return s.Workspace(ctx, name)
}

// applyLock holds a workspace for one apply.
type applyLock struct {
	conn   *pgxpool.Conn
	name   string
	planID string
}

// lockForApply takes the workspace for the apply of plan planID.
// Errors: ECONFLICT naming who holds it.
func (s *Service) lockForApply(ctx context.Context, name, holder, planID string) (*applyLock, error) {
	if _, err := s.cfg.DB.Exec(ctx, ensureWorkspaceSQL, name, pgdb.Now(s.cfg.Now)); err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	conn, err := s.cfg.DB.Acquire(ctx)
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	var got bool
	if err := conn.QueryRow(ctx, advisorySQL, name).Scan(&got); err != nil || !got {
		conn.Release()
		if err != nil {
			return nil, pgdb.Translate(err, "", "")
		}
		return nil, s.heldError(ctx, name)
	}
	l := &applyLock{conn: conn, name: name, planID: planID}
	tag, err := s.cfg.DB.Exec(ctx, takeApplyLockSQL, name, holder, planID, pgdb.Now(s.cfg.Now))
	if err != nil || tag.RowsAffected() == 0 {
		l.release(context.WithoutCancel(ctx), s)
		if err != nil {
			return nil, pgdb.Translate(err, "", "")
		}
		return nil, s.heldError(ctx, name)
	}
	return l, nil
}

func (s *Service) heldError(ctx context.Context, name string) error {
	w, err := pgdb.QueryOne(ctx, s.cfg.DB, scanWorkspace, "", getWorkspaceSQL, name)
	if err != nil {
		return err
	}
	if w.Lock == nil {
		e := understudy.Errorf(understudy.ECONFLICT, "workspace %s is being applied by another request; try again", name)
		e.Type = LockedType
		return e
	}
	return lockedError(w)
}

func (l *applyLock) release(ctx context.Context, s *Service) {
	if _, err := s.cfg.DB.Exec(ctx, dropApplyLockSQL, l.name, l.planID); err != nil {
		s.cfg.Logger.ErrorContext(ctx, "releasing the workspace lock", "workspace", l.name, "error", err)
	}
	if _, err := l.conn.Exec(ctx, unadvisorySQL, l.name); err != nil {
		l.conn.Conn().Close(ctx) // closing the session drops its advisory lock
	}
	l.conn.Release()
}
