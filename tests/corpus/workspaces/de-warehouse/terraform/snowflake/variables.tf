variable "snowflake_account" {
  type    = string
  default = "acme-analytics"
}

variable "snowflake_user" {
  type    = string
  default = "TERRAFORM_SVC"
}

variable "snowflake_private_key_path" {
  type        = string
  description = "Path to the Terraform service user's PKCS#8 key, e.g. ~/.snowflake/terraform_svc.p8"
}

variable "etl_svc_rsa_public_key" {
  type        = string
  description = "Public half of ETL_SVC's key pair, without the PEM header lines"
}

variable "snowflake_password" {
  type        = string
  sensitive   = true
  default     = null
  description = "Only for the break-glass user; normally unset (key-pair auth)."
}
