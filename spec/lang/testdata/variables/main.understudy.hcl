variable "domains" {
  type = list(string)
}

variable "attrs" {
  type    = map(string)
  default = { plan = "free" }
}

variable "pool" {
  type    = number
  default = 1
}

variable "quarantine" {
  type    = bool
  default = true
}

variable "description" {
  default = "from the default"
}

variable "env_name" {
  type    = string
  default = "default-env"
}

environment "production" {
  name          = var.env_name
  email_domains = var.domains
}

role "buyer" {
  environment             = environment.production.name
  description             = var.description
  pool_size               = var.pool
  attributes              = var.attrs
  quarantine_on_violation = var.quarantine
}
