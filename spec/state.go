package spec

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
)

// key names an object on the server by kind and natural id.
type key struct{ kind, id string }

func (k key) String() string { return k.kind + " " + k.id }

func objectID(env, name string) string { return env + "/" + name }

// managed is an object a workspace manages (a row of spec_objects).
type managed struct {
	Workspace      string
	Address        string
	Kind           string
	ObjectID       string
	Applied        *storedView
	PreventDestroy bool
}

// state is the server's state as a plan sees it.
type state struct {
	envs    map[string]accounts.Environment
	objects map[key]view
	// managedBy holds every workspace's objects; mine this workspace's,
	// by address.
	managedBy map[key]managed
	mine      map[string]managed
	serial    int64
	workspace string
	// movedFrom maps each address a moved block gave an object to its
	// previous one.
	movedFrom map[string]string
	// declaredAt holds the address of every object the spec declares,
	// planned or not (-target), by key.
	declaredAt map[key]string
}

const (
	managedSQL = `SELECT workspace, address, kind, object_id, applied, prevent_destroy FROM spec_objects ORDER BY workspace, address`
	serialSQL  = `SELECT serial FROM spec_workspaces WHERE name = $1`
)

func scanManaged(row pgx.Row, m *managed) error {
	var applied []byte
	if err := row.Scan(&m.Workspace, &m.Address, &m.Kind, &m.ObjectID, &applied, &m.PreventDestroy); err != nil {
		return err
	}
	if applied != nil {
		m.Applied = &storedView{}
		return json.Unmarshal(applied, m.Applied)
	}
	return nil
}

// load reads the server's environments, apps, roles and destinations and
// what each workspace manages.
func (s *Service) load(ctx context.Context, workspace string) (*state, error) {
	st := &state{envs: map[string]accounts.Environment{}, objects: map[key]view{}, managedBy: map[key]managed{}, mine: map[string]managed{},
		workspace: workspace, movedFrom: map[string]string{}, declaredAt: map[key]string{}}
	envs, err := s.cfg.Accounts.ListEnvironments(ctx)
	if err != nil {
		return nil, err
	}
	for _, e := range envs {
		st.envs[e.Name] = e
		st.objects[key{KindEnvironment, e.Name}] = environmentView(e)
		if err := s.loadEnvironment(ctx, st, e.Name); err != nil {
			return nil, err
		}
	}
	rows, err := pgdb.QueryAll(ctx, s.cfg.DB, scanManaged, managedSQL)
	if err != nil {
		return nil, err
	}
	for _, m := range rows {
		st.managedBy[key{m.Kind, m.ObjectID}] = m
		if m.Workspace == workspace {
			st.mine[m.Address] = m
		}
	}
	serial, found, err := pgdb.QueryMaybe(ctx, s.cfg.DB, pgdb.Scalar[int64], pgdb.Conflict{}, serialSQL, workspace)
	if err != nil {
		return nil, err
	}
	if found {
		st.serial = serial
	}
	return st, nil
}

func (s *Service) loadEnvironment(ctx context.Context, st *state, env string) error {
	roles, err := s.cfg.Accounts.ListRoles(ctx, env)
	if err != nil {
		return err
	}
	for _, r := range roles {
		st.objects[key{KindRole, objectID(env, r.Name)}] = roleView(r)
	}
	apps, err := s.cfg.Apps.List(ctx, env)
	if err != nil {
		return err
	}
	for _, a := range apps {
		st.objects[key{KindApp, objectID(env, a.Name)}] = appView(a)
	}
	if s.cfg.Destinations == nil {
		return s.loadFlows(ctx, st, env)
	}
	dests, err := s.cfg.Destinations.List(ctx, env)
	if err != nil {
		return err
	}
	for _, d := range dests {
		st.objects[key{KindDestination, objectID(env, d.Name)}] = destinationView(d)
	}
	return s.loadFlows(ctx, st, env)
}

// loadFlows reads the flows of env, when this server declares flows.
func (s *Service) loadFlows(ctx context.Context, st *state, env string) error {
	if s.cfg.Flows == nil {
		return nil
	}
	flows, err := s.cfg.Flows.List(ctx, env)
	if err != nil {
		return err
	}
	for _, f := range flows {
		st.objects[key{KindFlow, objectID(env, f.Name)}] = flowView(f)
	}
	return nil
}

// declare records the objects decls declare, planned or not.
func (st *state) declare(decls []declared) {
	for _, d := range decls {
		st.declaredAt[key{d.kind, d.id}] = d.address
	}
}

// move gives the objects the workspace manages the addresses moved
// blocks give them, before the plan is made, so that each is planned at
// its new address. Moves chain, as in Terraform (a to b, then b to c
// moves a to c); a from the workspace does not manage is ignored, so
// that moved blocks may stay in the spec once applied.
func (st *state) move(moved []Moved, conflicts *[]string) {
	next := map[string]string{}
	for _, m := range moved {
		next[m.From] = m.To
	}
	for _, from := range slices.Sorted(maps.Keys(next)) {
		row, ok := st.mine[from]
		if !ok {
			continue
		}
		to, seen := from, map[string]bool{from: true}
		for {
			n, more := next[to]
			if !more {
				break
			}
			if seen[n] {
				*conflicts = append(*conflicts, fmt.Sprintf("the moved blocks from %s loop back to %s", from, n))
				to = ""
				break
			}
			seen[n], to = true, n
		}
		if to == "" {
			continue
		}
		if other, taken := st.mine[to]; taken {
			*conflicts = append(*conflicts, fmt.Sprintf("cannot move %s to %s: this workspace already manages %s there; remove one of them first",
				from, to, key{other.Kind, other.ObjectID}))
			continue
		}
		delete(st.mine, from)
		row.Address = to
		st.mine[to] = row
		st.managedBy[key{row.Kind, row.ObjectID}] = row
		st.movedFrom[to] = from
	}
}
