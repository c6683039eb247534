variable "email_domain" {
  type        = string
  default     = "qa.example.test"
  description = "The controlled email domain of the accounts: one of the server's UNDERSTUDY_EMAIL_DOMAINS."
}

variable "buyer_pool_size" {
  type        = number
  default     = 2
  description = "How many buyer accounts production keeps, one per parallel test worker."
}

variable "chirp_url" {
  type        = string
  default     = "http://127.0.0.1:8090"
  description = "Where chirp serves (its CHIRP_ADDR); the webhook contract is under /understudy."
}

variable "posthog_project_id" {
  type        = number
  description = "The numeric id of the PostHog project (Project settings, Project ID)."
}

variable "posthog_project_api_key" {
  type        = string
  sensitive   = true
  description = "The PostHog project token (phc_…). Set UNDERSTUDY_VAR_posthog_project_api_key rather than -var, so that it stays out of the shell history."
}
