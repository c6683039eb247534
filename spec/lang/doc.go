// Package lang is the language of the declarative spec: it parses and
// evaluates a directory of *.understudy.hcl files into the spec.Desired
// that the CLI sends to the server to plan, and formats those files.
//
// # Blocks
//
// A spec file holds blocks only:
//
//   - variable "name" declares an input variable (type, default,
//     description, sensitive), read as var.name;
//   - environment, app, role, destination and flow "label" declare the
//     objects a workspace manages, at the address "<kind>.<label>"
//     (role.buyer); each may hold a lifecycle block (prevent_destroy),
//     and a role an isolation_policy block of surface = visibility.
//     Durations are strings: an environment's inbox_retention and
//     capture_retention and a flow's every take whole days ("7d") or a
//     Go duration ("36h"), a destination's sync_interval a Go duration.
//     A flow names the role it runs with (role = role.buyer.name) and
//     the cadence it should pass at (every = "15m");
//   - import { to = role.buyer, id = "production/buyer" } adopts an
//     existing object into a declared block;
//   - removed { from = role.old } stops managing an object that is no
//     longer declared, leaving it on the server;
//   - moved { from = role.old  to = role.new } gives the object the
//     workspace manages at role.old the address role.new (a renamed
//     label or for_each key), so that it is kept rather than deleted and
//     created again; moves chain, and a from the workspace no longer
//     manages is ignored, so the block may stay in the spec;
//   - locals { name = expression } defines local values, read as
//     local.name. A spec may hold several locals blocks; a name is
//     defined once in the whole spec.
//
// A block that makes objects may set for_each to a map (or object) or a
// set of strings (toset() converts a list; a list itself is refused, as
// in Terraform): it then declares one object per key, at the address
// <kind>.<label>["key"], reading each.key and each.value. Its keys must
// be known and not sensitive, since they appear in the addresses and the
// plan; each.value may be sensitive, and then may reach the secrets only.
// A reference to such a block (role.buyer) reads an object of its
// instances by key (role.buyer["key"].name).
//
// A block's name defaults to its label; an instance's name defaults to
// its key, so that for_each over a map of 50 roles names them after the
// map's keys. Set name (name = "${each.key}-buyer") to name them
// otherwise. Blocks and local values refer to
// each other (environment = environment.production.name) and are
// evaluated in the order those references give; a loop of references is
// an error. Local values are evaluated under the same work limit as the
// blocks.
//
// # Values
//
// Variables take, from weakest to strongest, their default, the
// UNDERSTUDY_VAR_<name> environment variable, the -var-file files in
// order, then -var name=value. Raw values (-var and the environment) are
// used as strings for the primitive types and parsed as HCL expressions
// for the others, as Terraform does.
//
// The functions env(NAME) and file(PATH) and the variables declared
// sensitive give sensitive values: they are allowed only in the secrets
// of an app or destination, and never appear in a diagnostic. The other
// functions are lower, upper, format, join, split, concat, merge,
// trimspace, replace, length, coalesce, keys, values, tostring, tonumber,
// tobool, toset, tolist and tomap.
//
// # Diagnostics
//
// Every problem is an hcl.Diagnostic whose Subject points at the
// attribute, block or reference at fault. Config.Diagnostic places an
// error the server reports about a field ("role.buyer.pool_size") at the
// attribute that set it, and WriteDiagnostics prints diagnostics with
// their source lines.
package lang
