// Package spec plans and applies declarative specs: the environments,
// apps, roles, destinations and flows a team declares in *.understudy.hcl files
// (read by package spec/lang, in the CLI), compared with what the server
// holds, as a plan the team reviews and then applies, as Terraform does.
//
// # Workspaces, plans and objects
//
// A workspace names the set of objects one spec manages; objects no spec
// manages are left alone, and an object is managed by one workspace at a
// time. A plan (Plan) is data: the changes of one workspace, each with its
// Action (+ ~ -/+ -), sorted, with their effects on accounts, stored so
// that an apply does exactly what was reviewed. A plan made against an
// older serial of its workspace is stale and refused.
//
// spec owns three tables (migration 000016), and only its files name them:
//
//   - spec_workspaces: each workspace, its serial (the changes applied to
//     it), its lock and its last apply (workspace.go, state.go, apply.go,
//     forget.go);
//   - spec_objects: what each workspace manages, by address and natural
//     id, with the attributes last applied, secrets as digests (state.go,
//     apply.go, forget.go);
//   - spec_plans: the stored plans, their desired spec with its secrets
//     sealed, and their status (store.go, apply.go, prune.go).
//
// The objects themselves are other packages': an apply calls
// accounts.Service (environments, roles), apps.Service (apps),
// tagging.Service (destinations) and run.Flows (flows), each writing and
// auditing its own tables.
//
// # Layout
//
//   - service.go: Config, Service, PlanRequest, ApplyOptions, Workspace,
//     Plan and GetPlan.
//   - desired.go: Desired, the evaluated spec, and its blocks.
//   - plan.go: the plan as data (Action, Change, Plan).
//   - engine.go, check.go, checkobjects.go, target.go, state.go, view.go,
//     diff.go, effects.go, inbox.go: computing a plan: the workspace's state
//     read (state.go), the spec checked, each object compared as a view of
//     its attributes, targeting (-target, -replace), and the effects of
//     each change on accounts.
//   - store.go: storing and reading plans, their secrets sealed.
//   - apply.go, leases.go: Apply, which runs a stored plan under the
//     workspace's lock, and waits, when told to, for the leases of the
//     accounts it would retire.
//   - workspace.go: workspaces and their locks (an advisory lock held by
//     the apply's connection, and locks taken by hand).
//   - forget.go: Forget, which stops a workspace managing objects without
//     touching them.
//   - prune.go: the periodic job that prunes stored plans.
//   - render*.go, tfjson.go, uistream.go: the views of a plan: human (as
//     Terraform lays it out), Terraform's JSON plan format, and its
//     machine-readable UI stream.
//
// # Time
//
// Config.Now is the clock of everything here, in Go and in SQL (as
// coalesce($n, now()), see pgdb.Now): a plan's times, an object's
// applied_at, a workspace's creation, last apply and locks.
package spec
