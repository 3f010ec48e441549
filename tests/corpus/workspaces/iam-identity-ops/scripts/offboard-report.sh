#!/usr/bin/env bash
# Prints what an offboarded user could still reach, for the Day 0-1 checklist.
# Needs: okta CLI session (okta login), op CLI signed in as an IT Admin member,
# vault login -method=oidc. Read-only: changes nothing.
set -euo pipefail

email="${1:?usage: offboard-report.sh user@northwind.example}"
workdir="$(mktemp -d "${TMPDIR:-/tmp}/offboard.XXXXXX")"
trap 'rm -rf "$workdir"' EXIT

echo "== Okta status"
okta users get --login "$email" --output json | jq -r '.status, .lastLogin'

echo "== 1Password vaults (groups)"
op user get "$email" --format json | jq -r '.state'
op vault list --user "$email" --format json | jq -r '.[].name'

echo "== Vault token accessors"
vault list -format=json auth/token/accessors > "$workdir/accessors.json"
jq -r '.[]' "$workdir/accessors.json" | while read -r acc; do
  vault token lookup -format=json -accessor "$acc" \
    | jq -r --arg e "oidc-$email" 'select(.data.display_name == $e) | .data.accessor'
done
