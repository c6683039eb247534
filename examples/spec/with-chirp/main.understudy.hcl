# The setup of `understudy demo` as a spec: chirp attached to production
# through the webhook provider and to staging through the postgres
# provider, two roles in each, and production's synthetic accounts kept
# out of PostHog. It needs chirp running (see the README).

environment "production" {
  email_domains   = [var.email_domain]
  custom_surfaces = ["trending"] # chirp's own surface, audited with the built-in ones
}

environment "staging" {
  email_domains = [var.email_domain]
}

app "chirp" {
  environment = environment.production.name
  provider    = "webhook"
  settings    = { base_url = "${var.chirp_url}/understudy" }
  secrets     = { signing_secret = env("CHIRP_WEBHOOK_SECRET") }
}

app "chirp_db" {
  environment = environment.staging.name
  name        = "chirp-db"
  provider    = "postgres"
  settings = {
    users_table      = "users"
    key_column       = "id"
    synthetic_column = "is_synthetic"
    owner_column     = "understudy_account_id"
    columns          = { email = "email", username = "username", display_name = "display_name" }
    tables = [
      { table = "profiles", user_column = "user_id" },
      { table = "posts", user_column = "user_id" },
      { table = "follows", user_column = "follower_id" },
      { table = "likes", user_column = "user_id" },
      { table = "scores", user_column = "user_id" },
      { table = "notifications", user_column = "user_id" },
      { table = "cart_items", user_column = "user_id" },
    ]
    lock_timeout      = "5s"
    statement_timeout = "10s"
  }
  secrets = { dsn = env("CHIRP_DATABASE_URL") }
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

role "staging_buyer" {
  environment = environment.staging.name
  name        = "buyer"
}

role "staging_seller" {
  environment = environment.staging.name
  name        = "seller"
}

# The test path CI runs against production every 15 minutes with the
# buyer's accounts: the alerts of examples/prometheus compare its last
# success with this cadence.
flow "checkout" {
  environment = environment.production.name
  role        = role.buyer.name
  every       = "15m"
}

destination "posthog" {
  environment = environment.production.name
  kind        = "posthog"
  settings    = { project_id = var.posthog_project_id }
  secrets     = { project_api_key = var.posthog_project_api_key }
}
