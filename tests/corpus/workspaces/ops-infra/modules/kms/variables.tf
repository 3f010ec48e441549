variable "account_id" { type = string }
variable "admin_role" { type = string }
variable "service_role" { type = string }
