# Read-only access for the internal audit team (OIDC group "vault-auditors").
# Can list mounts, policies and auth roles; cannot read secret values.

path "sys/mounts" {
  capabilities = ["read"]
}

path "sys/policies/acl/*" {
  capabilities = ["read", "list"]
}

path "sys/auth" {
  capabilities = ["read"]
}

path "auth/+/role/*" {
  capabilities = ["read", "list"]
}

path "secret/metadata/*" {
  capabilities = ["list"]
}
