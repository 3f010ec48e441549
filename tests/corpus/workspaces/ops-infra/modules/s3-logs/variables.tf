variable "account_id" { type = string }
variable "kms_key" { type = string }
