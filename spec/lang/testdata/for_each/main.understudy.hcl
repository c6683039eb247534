# 50 roles from one map, and one environment and app per key of a set.
locals {
  shoppers = {
    shopper-01 = { pool = 2, plan = "pro" }
    shopper-02 = { pool = 3, plan = "free" }
    shopper-03 = { pool = 4, plan = "pro" }
    shopper-04 = { pool = 5, plan = "free" }
    shopper-05 = { pool = 1, plan = "pro" }
    shopper-06 = { pool = 2, plan = "free" }
    shopper-07 = { pool = 3, plan = "pro" }
    shopper-08 = { pool = 4, plan = "free" }
    shopper-09 = { pool = 5, plan = "pro" }
    shopper-10 = { pool = 1, plan = "free" }
    shopper-11 = { pool = 2, plan = "pro" }
    shopper-12 = { pool = 3, plan = "free" }
    shopper-13 = { pool = 4, plan = "pro" }
    shopper-14 = { pool = 5, plan = "free" }
    shopper-15 = { pool = 1, plan = "pro" }
    shopper-16 = { pool = 2, plan = "free" }
    shopper-17 = { pool = 3, plan = "pro" }
    shopper-18 = { pool = 4, plan = "free" }
    shopper-19 = { pool = 5, plan = "pro" }
    shopper-20 = { pool = 1, plan = "free" }
    shopper-21 = { pool = 2, plan = "pro" }
    shopper-22 = { pool = 3, plan = "free" }
    shopper-23 = { pool = 4, plan = "pro" }
    shopper-24 = { pool = 5, plan = "free" }
    shopper-25 = { pool = 1, plan = "pro" }
    shopper-26 = { pool = 2, plan = "free" }
    shopper-27 = { pool = 3, plan = "pro" }
    shopper-28 = { pool = 4, plan = "free" }
    shopper-29 = { pool = 5, plan = "pro" }
    shopper-30 = { pool = 1, plan = "free" }
    shopper-31 = { pool = 2, plan = "pro" }
    shopper-32 = { pool = 3, plan = "free" }
    shopper-33 = { pool = 4, plan = "pro" }
    shopper-34 = { pool = 5, plan = "free" }
    shopper-35 = { pool = 1, plan = "pro" }
    shopper-36 = { pool = 2, plan = "free" }
    shopper-37 = { pool = 3, plan = "pro" }
    shopper-38 = { pool = 4, plan = "free" }
    shopper-39 = { pool = 5, plan = "pro" }
    shopper-40 = { pool = 1, plan = "free" }
    shopper-41 = { pool = 2, plan = "pro" }
    shopper-42 = { pool = 3, plan = "free" }
    shopper-43 = { pool = 4, plan = "pro" }
    shopper-44 = { pool = 5, plan = "free" }
    shopper-45 = { pool = 1, plan = "pro" }
    shopper-46 = { pool = 2, plan = "free" }
    shopper-47 = { pool = 3, plan = "pro" }
    shopper-48 = { pool = 4, plan = "free" }
    shopper-49 = { pool = 5, plan = "pro" }
    shopper-50 = { pool = 1, plan = "free" }
  }
}

variable "regions" {
  type    = list(string)
  default = ["eu", "us"]
}

environment "region" {
  for_each      = toset(var.regions)
  name          = "shop-${each.key}"
  email_domains = ["${each.value}.qa.example.test"]
}

app "shop" {
  for_each    = environment.region
  environment = each.value.name
  provider    = "webhook"
  settings    = { region = each.key }
}

role "shopper" {
  for_each    = local.shoppers
  environment = environment.region["eu"].name
  description = "Shopper on the ${each.value.plan} plan"
  pool_size   = each.value.pool
  attributes  = { plan = each.value.plan }
}

role "admin" {
  environment = environment.region["us"].name
  description = "Administers ${length(keys(role.shopper))} shoppers"
}

destination "audit" {
  for_each    = { main = "posthog" }
  environment = environment.region["eu"].name
  kind        = each.value
}

flow "browse" {
  for_each    = { fast = "5m", slow = "1h" }
  name        = "browse-${each.key}"
  environment = environment.region["eu"].name
  role        = role.shopper["shopper-02"].name
  every       = each.value
}

import {
  to = role.shopper["shopper-01"]
  id = "shop-eu/shopper-01"
}

removed {
  from = role.shopper["shopper-51"]
}
