package isolation

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/understudy-dev/understudy"
	"github.com/understudy-dev/understudy/accounts"
	"github.com/understudy-dev/understudy/internal/pgdb"
	"github.com/understudy-dev/understudy/isolation/client"
	"github.com/understudy-dev/understudy/tagging"
)

// CheckRequest asks who of Subjects Viewer sees on Surface of Environment.
// Subjects and Viewer are identifiers as the exclusion list holds them
// (account id, email, username, app ref `chirp:42`, distinct id).
type CheckRequest struct {
	Environment string
	Surface     string
	Viewer      string
	Subjects    []string
}

// CheckResult is the decision for one subject.
type CheckResult struct {
	Subject string `json:"subject"`
	Visible bool   `json:"visible"`
	Reason  Reason `json:"reason"`
}

// listed is an identifier on the list: its account and its role's policy.
type listed struct {
	accountID string
	policy    map[string]accounts.Visibility
}

// Check decides, for each subject in order, whether the viewer sees it.
// It reads the database twice however many subjects there are.
// Errors: ETOOLARGE (over MaxSubjects), ENOTFOUND (environment), EINVALID
// (a surface the environment does not have).
func (s *Service) Check(ctx context.Context, q CheckRequest) ([]CheckResult, error) {
	if len(q.Subjects) > MaxSubjects {
		return nil, understudy.Errorf(understudy.ETOOLARGE, "%d subjects; one check decides at most %d", len(q.Subjects), MaxSubjects)
	}
	env, err := getEnvironment(ctx, s.db, q.Environment)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(env.surfaces(), q.Surface) {
		return nil, understudy.Invalid("unknown surface", understudy.FieldError{Field: "surface",
			Detail: q.Surface + " is not a surface of environment " + env.Name + " (surfaces: " + strings.Join(env.surfaces(), ", ") + ")"})
	}
	on, err := s.lookup(ctx, env.ID, probes(q))
	if err != nil {
		return nil, pgdb.Translate(err, "", "")
	}
	viewer := listingOf(on, q.Viewer)
	out := make([]CheckResult, len(q.Subjects))
	for i, subj := range q.Subjects {
		var v accounts.Visibility
		l, ok := find(on, subj) // once: an unlisted subject is looked up in its canonical form too
		if ok {
			v = visibility(l.policy, q.Surface)
		}
		out[i].Subject = subj
		out[i].Visible, out[i].Reason = Decide(Listing{Synthetic: ok, AccountID: l.accountID}, viewer, v)
	}
	return out, nil
}

// probes are the identifiers Check looks for: each subject and the
// viewer as given, and in its canonical form where that differs, as the
// client looks them up (client.Canonical).
func probes(q CheckRequest) []string {
	out := make([]string, 0, len(q.Subjects)+1)
	for _, id := range append(slices.Clip(q.Subjects), q.Viewer) {
		out = append(out, id)
		if c := client.Canonical(id); c != id {
			out = append(out, c)
		}
	}
	return out
}

// find returns the listed identifier id, as given or in its canonical form.
func find(on map[string]listed, id string) (listed, bool) {
	if l, ok := on[id]; ok {
		return l, true
	}
	l, ok := on[client.Canonical(id)]
	return l, ok
}

func listingOf(on map[string]listed, id string) Listing {
	l, ok := find(on, id)
	return Listing{Synthetic: ok, AccountID: l.accountID}
}

// lookup returns the identifiers of ids that are on environment envID's
// list, read through package tagging, which owns the list.
func (s *Service) lookup(ctx context.Context, envID string, ids []string) (map[string]listed, error) {
	found, err := tagging.FindListed(ctx, s.db, envID, ids)
	if err != nil {
		return nil, err
	}
	on := make(map[string]listed, len(found))
	policies := map[string]map[string]accounts.Visibility{} // by role id: a policy is decoded once, not once per subject
	for _, f := range found {
		p, ok := policies[f.RoleID]
		if !ok {
			if err := json.Unmarshal(f.Policy, &p); err != nil {
				return nil, fmt.Errorf("decoding the isolation policy of role %s: %w", f.RoleID, err)
			}
			policies[f.RoleID] = p
		}
		on[f.Identifier] = listed{accountID: f.AccountID, policy: p}
	}
	return on, nil
}

// surfaces are the environment's surfaces, built-in ones first.
func (e environment) surfaces() []string {
	return accounts.Environment{CustomSurfaces: e.CustomSurfaces}.Surfaces()
}
