terraform {
  required_providers {
    snowflake = {
      source  = "Snowflake-Labs/snowflake"
      version = "~> 0.92"
    }
  }
}

provider "snowflake" {
  account       = var.snowflake_account
  user          = var.snowflake_user
  authenticator = "JWT"
  private_key   = file(var.snowflake_private_key_path)
  role          = "SYSADMIN"
}

resource "snowflake_warehouse" "etl" {
  name           = "ETL_WH"
  warehouse_size = "XSMALL"
  auto_suspend   = 60
  auto_resume    = true
  comment        = "Airflow and dbt loads"
}

resource "snowflake_database" "analytics" {
  name    = "ANALYTICS"
  comment = "Marts built by dbt"
}

resource "snowflake_user" "etl_svc" {
  name              = "ETL_SVC"
  default_warehouse = snowflake_warehouse.etl.name
  default_role      = "ETL_ROLE"
  rsa_public_key    = var.etl_svc_rsa_public_key
  must_change_password = false
}
