#!/usr/bin/env bash
# First flash of a new ESP32 over USB (before OTA works).
# Usage: scripts/flash_esptool.sh garage-door [/dev/ttyUSB0]
set -euo pipefail
node="$1"; port="${2:-/dev/ttyUSB0}"
fw="esphome/.esphome/build/${node}/.pioenvs/${node}/firmware.factory.bin"

esptool.py --chip esp32 --port "$port" --baud 460800 erase_flash
esptool.py --chip esp32 --port "$port" --baud 460800 write_flash -z 0x0 "$fw"
