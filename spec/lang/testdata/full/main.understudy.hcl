environment "production" {
  email_domains      = ["qa.example.test", "qa2.example.test"]
  custom_surfaces    = ["trending"]
  inbox_retention    = "14d"
  inbox_max_messages = 500
  capture_retention  = "90d"

  lifecycle {
    prevent_destroy = true
  }
}

environment "stage" {
  name          = "staging"
  email_domains = environment.production.email_domains
}

app "chirp" {
  environment = environment.production.name
  provider    = "webhook"
  settings = {
    base_url = "${var.chirp_url}/understudy"
    timeout  = 5
    retry    = { attempts = 3, enabled = true }
    tags     = ["a", "b"]
  }
  secrets = {
    signing_secret = env("CHIRP_SIGNING_SECRET")
    ca             = file("ca.pem")
  }
}

app "chirp_db" {
  environment = environment.stage.name
  name        = "chirp-db"
  provider    = "postgres"
}

role "buyer" {
  environment             = environment.production.name
  description             = "Buys ${upper("things")}"
  pool_size               = var.pool
  attributes              = { plan = "pro", seats = 3 }
  quarantine_on_violation = false
  code_pattern            = "code: ([0-9]{6})"
  link_pattern            = "/magic/"

  isolation_policy {
    leaderboards = "hidden"
    social_feed  = "testers_only"
  }
}

role "seller" {
  environment = app.chirp.environment
  name        = lower("SELLER")
}

role "stage_buyer" {
  environment = environment.stage.name
  name        = role.buyer.name
  pool_size   = role.buyer.pool_size + 1

  lifecycle {
    prevent_destroy = false
  }
}

destination "posthog" {
  environment   = environment.production.name
  kind          = "posthog"
  settings      = { ingest_host = "https://eu.i.posthog.com", project_id = 123 }
  secrets       = { project_api_key = var.posthog_api_key }
  distinct_id   = "{email}"
  sync_interval = "15m"
}

destination "audit" {
  environment = environment.stage.name
  kind        = "webhook"
}

flow "checkout" {
  environment = role.buyer.environment
  role        = role.buyer.name
  every       = "15m"
}

flow "sign_up" {
  environment = environment.stage.name
  name        = "sign-up"
  role        = role.stage_buyer.name
  every       = "1d"

  lifecycle {
    prevent_destroy = true
  }
}

import {
  to = role.buyer
  id = "${environment.production.name}/buyer"
}

import {
  to = environment.production
  id = "production"
}

removed {
  from = role.old_seller
}
