terraform {
  required_version = ">= 1.7"
  backend "s3" {
    bucket         = "acme-tfstate-prod"
    key            = "billing/prod.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-tfstate-locks"
    encrypt        = true
    kms_key_id     = "alias/tfstate"
  }
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.60"
    }
  }
}

provider "aws" {
  region              = "eu-west-1"
  allowed_account_ids = ["123456789012"]
  default_tags {
    tags = {
      owner       = "platform"
      cost-center = "billing"
      managed-by  = "terraform"
    }
  }
}

module "iam" {
  source            = "../../modules/iam"
  account_id        = "123456789012"
  github_org        = "acme"
  github_repo       = "billing"
  security_account  = "555555555555"
  billing_bucket    = module.s3_logs.bucket_name
}

module "kms" {
  source       = "../../modules/kms"
  account_id   = "123456789012"
  admin_role   = module.iam.breakglass_role_arn
  service_role = module.iam.billing_service_role_arn
}

module "s3_logs" {
  source     = "../../modules/s3-logs"
  account_id = "123456789012"
  kms_key    = module.kms.logs_key_arn
}
