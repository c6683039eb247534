# An example policy over `understudy show -json PLANFILE`, the plan in
# Terraform's JSON plan format. Run it with OPA or conftest, as for a
# Terraform plan:
#
#   understudy plan -out tfplan examples/spec
#   understudy show -json tfplan > plan.json
#   opa eval -d examples/spec/policy -i plan.json 'data.understudy.policy.deny'
#   conftest test --policy examples/spec/policy --namespace understudy.policy plan.json
#
# Each rule reads only fields of the format: resource_changes[].address,
# .type, .change.actions and .change.after.
package understudy.policy

# max_pool_size is the most accounts one role may keep.
max_pool_size := 20

# No role may keep more than max_pool_size accounts.
deny contains msg if {
	some rc in input.resource_changes
	rc.type == "understudy_role"
	rc.change.after.pool_size > max_pool_size
	msg := sprintf("%s: pool_size %v is above %v", [rc.address, rc.change.after.pool_size, max_pool_size])
}

# No destination may be deleted, nor replaced (a replace deletes it
# first): its vendor's data would lose the accounts' identities.
deny contains msg if {
	some rc in input.resource_changes
	rc.type == "understudy_destination"
	"delete" in rc.change.actions
	msg := sprintf("%s: a destination may not be deleted (actions %v)", [rc.address, rc.change.actions])
}
