# notes: 0
resource "aws_sns_topic" "budget_alerts" {
  name              = "finops-budget-alerts"
  kms_master_key_id = "alias/aws/sns"
}

# Slack delivery goes through AWS Chatbot; the channel is configured there, not here.
resource "aws_sns_topic_subscription" "finops_email" {
  topic_arn = aws_sns_topic.budget_alerts.arn
  protocol  = "email"
  endpoint  = "finops@acme.example"
}

resource "aws_budgets_budget" "platform_monthly" {
  name         = "platform-monthly"
  budget_type  = "COST"
  limit_amount = "42000"
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  cost_filter {
    name   = "TagKeyValue"
    values = ["user:cost-center$cc-1001-platform"]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 80
    threshold_type            = "PERCENTAGE"
    notification_type         = "FORECASTED"
    subscriber_sns_topic_arns = [aws_sns_topic.budget_alerts.arn]
  }

  notification {
    comparison_operator       = "GREATER_THAN"
    threshold                 = 100
    threshold_type            = "PERCENTAGE"
    notification_type         = "ACTUAL"
    subscriber_sns_topic_arns = [aws_sns_topic.budget_alerts.arn]
  }
}
