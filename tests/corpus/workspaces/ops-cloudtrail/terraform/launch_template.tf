resource "aws_launch_template" "billing_app" {
  name_prefix   = "billing-app-"
  image_id      = data.aws_ami.billing.id
  instance_type = "m7g.large"

  iam_instance_profile {
    name = aws_iam_instance_profile.billing_service.name
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "optional"
    http_put_response_hop_limit = 2
  }

  vpc_security_group_ids = [aws_security_group.billing_app.id]
  user_data              = base64encode(file("${path.module}/cloud-init.yaml"))
}
