#!/usr/bin/env bash
# Compile and push an ESPHome node over the air.
# Usage: scripts/ota_update.sh garage-door
set -euo pipefail
node="$1"
cd "$(dirname "$0")/../esphome"

esphome config "${node}.yaml" > /dev/null
esphome compile "${node}.yaml"
esphome upload "${node}.yaml" --device "${node}.iot.home.arpa"
