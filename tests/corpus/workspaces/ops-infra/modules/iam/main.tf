# Roles: CI (plan and apply through GitHub OIDC), the billing service (ECS task
# role) and the break-glass administrator.

data "aws_iam_openid_connect_provider" "github" {
  url = "https://token.actions.githubusercontent.com"
}

resource "aws_iam_role" "ci_plan" {
  name               = "ci-terraform-plan"
  assume_role_policy = templatefile("${path.module}/../../policies/trust-github-oidc.json", {
    provider_arn = data.aws_iam_openid_connect_provider.github.arn
    subject      = "repo:${var.github_org}/${var.github_repo}:pull_request"
  })
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "ci_plan_readonly" {
  role       = aws_iam_role.ci_plan.name
  policy_arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role" "billing_service" {
  name               = "billing-service"
  assume_role_policy = file("${path.module}/../../policies/trust-ecs-tasks.json")
}

resource "aws_iam_role_policy" "billing_service" {
  name   = "billing-service"
  role   = aws_iam_role.billing_service.id
  policy = templatefile("${path.module}/../../policies/billing-service.json", {
    account_id = var.account_id
    bucket     = var.billing_bucket
  })
}

resource "aws_iam_role" "breakglass" {
  name                 = "breakglass-admin"
  assume_role_policy   = templatefile("${path.module}/../../policies/trust-breakglass.json", {
    security_account = var.security_account
  })
  max_session_duration = 3600
}

resource "aws_iam_role_policy_attachment" "breakglass_admin" {
  role       = aws_iam_role.breakglass.name
  policy_arn = "arn:aws:iam::aws:policy/AdministratorAccess"
}

output "breakglass_role_arn" { value = aws_iam_role.breakglass.arn }
output "billing_service_role_arn" { value = aws_iam_role.billing_service.arn }
