variable "email_domain" {
  type        = string
  default     = "qa.example.test"
  description = "The controlled email domain of the accounts: one of the server's UNDERSTUDY_EMAIL_DOMAINS (make run allows qa.example.test)."
}

variable "buyer_pool_size" {
  type        = number
  default     = 2
  description = "How many buyer accounts production keeps, one per parallel test worker."
}

# A local value, read as local.shop_visibility by main.understudy.hcl:
# chirp's shop shows its testers on leaderboards to testers only.
locals {
  shop_visibility = "testers_only"
}
