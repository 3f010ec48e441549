resource "aws_kms_key" "logs" {
  description             = "Access logs and CloudTrail for billing"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy = templatefile("${path.module}/../../policies/kms-logs-key.json", {
    account_id   = var.account_id
    admin_role   = var.admin_role
    service_role = var.service_role
  })
}

resource "aws_kms_alias" "logs" {
  name          = "alias/billing-logs"
  target_key_id = aws_kms_key.logs.key_id
}

output "logs_key_arn" { value = aws_kms_key.logs.arn }
