# Policy for the GitHub Actions deploy workflow (JWT auth, role "ci-deploy").
# Bound claims: repository = northwind/deploy, ref = refs/heads/main.

path "secret/data/deploy/*" {
  capabilities = ["read"]
}

path "secret/metadata/deploy/*" {
  capabilities = ["list", "read"]
}

path "database/creds/orders-migrate" {
  capabilities = ["read"]
}

path "aws/sts/deploy" {
  capabilities = ["read", "update"]
}

# Too broad: lets CI read every team's KV secrets. Narrow in IAM-412.
path "secret/data/*" {
  capabilities = ["read"]
}
