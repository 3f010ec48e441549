variable "account_id" { type = string }
variable "github_org" { type = string }
variable "github_repo" { type = string }
variable "security_account" { type = string }
variable "billing_bucket" { type = string }
