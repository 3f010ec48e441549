# Vault policy for the billing hosts' Vault Agent (AppRole billing-host).
path "secret/data/billing/*" {
  capabilities = ["read"]
}

path "database/creds/billing-rw" {
  capabilities = ["read"]
}

path "sys/leases/renew" {
  capabilities = ["update"]
}
