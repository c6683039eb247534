variable "posthog_api_key" {
  type        = string
  description = "The PostHog project token."
  sensitive   = true
}

variable "pool" {
  type    = number
  default = 2
}

variable "chirp_url" {
  type    = string
  default = "http://127.0.0.1:8081"
}
