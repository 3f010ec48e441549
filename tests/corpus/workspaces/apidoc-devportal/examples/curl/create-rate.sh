#!/usr/bin/env bash
# notes: 0
set -euo pipefail
: "${PARCELWISE_API_KEY:?export PARCELWISE_API_KEY first (see .env.example)}"
curl -sS "${PARCELWISE_BASE_URL:-https://sandbox.parcelwise.example/v2}/rates" \
  -H "Authorization: Bearer ${PARCELWISE_API_KEY}" \
  -H "Content-Type: application/json" \
  -d @"$(dirname "$0")/rate-request.json" | jq '.data[] | {carrier, service, amount}'
