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
    leaderboards = "testers_only"
  }
}

role "seller" {
  environment = environment.production.name
  description = "Sells in chirp's shop"

  isolation_policy {
    leaderboards = "testers_only"
  }
}

# A role's label is unique in the spec; its name, only in its environment.
role "staging_buyer" {
  environment = environment.staging.name
  name        = "buyer"
}

role "staging_seller" {
  environment = environment.staging.name
  name        = "seller"
}
