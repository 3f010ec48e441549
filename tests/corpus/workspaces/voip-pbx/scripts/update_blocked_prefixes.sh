#!/usr/bin/env bash
# Refresh the AstDB family "blockprefix" from the carrier's high-risk list.
# The list URL needs the portal API key: read from /etc/pbx/carrier.env.
set -euo pipefail
source /etc/pbx/carrier.env   # CARRIER_API_KEY=...
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
curl -fsS -H "Authorization: Bearer ${CARRIER_API_KEY}" \
  https://portal.acmevoice.example/api/v1/fraud/high-risk-prefixes.txt -o "$tmp"
asterisk -rx 'database deltree blockprefix'
while read -r prefix; do
  [[ -z "$prefix" || "$prefix" == \#* ]] && continue
  asterisk -rx "database put blockprefix ${prefix} 1" >/dev/null
done < "$tmp"
echo "loaded $(grep -cv '^#' "$tmp") prefixes"
