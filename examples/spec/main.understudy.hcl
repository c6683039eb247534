# The environments and roles that `understudy demo` sets up, without chirp:
# this spec needs nothing but an Understudy server (make run).
#
#   understudy plan  examples/spec
#   understudy apply examples/spec
#
# with-chirp/ is the same spec plus chirp's apps and a PostHog destination.

environment "production" {
  email_domains   = [var.email_domain]
  custom_surfaces = ["trending"] # chirp's own surface, audited with the built-in ones
}

environment "staging" {
  email_domains = [var.email_domain]
}

role "buyer" {
  environment = environment.production.name
  description = "Buys in chirp's shop"
  pool_size   = var.buyer_pool_size
  attributes  = { plan = "pro" }

  isolation_policy {
    leaderboards = local.shop_visibility
  }
}

role "seller" {
  environment = environment.production.name
  description = "Sells in chirp's shop"

  isolation_policy {
    leaderboards = local.shop_visibility
  }
}

# One role per key: role.staging["buyer"] and role.staging["seller"],
# each named after its key. A role's address is unique in the spec; its
# name, only in its environment.
role "staging" {
  for_each    = toset(["buyer", "seller"])
  environment = environment.staging.name
  description = "Staging's ${each.key}"
}

# These roles were once two blocks, staging_buyer and staging_seller: the
# moved blocks keep the roles a workspace applied under those labels,
# instead of deleting them and creating them again.
moved {
  from = role.staging_buyer
  to   = role.staging["buyer"]
}

moved {
  from = role.staging_seller
  to   = role.staging["seller"]
}
