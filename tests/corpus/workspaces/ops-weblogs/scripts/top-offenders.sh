#!/bin/sh
# Top client IPs by 4xx responses in an nginx combined log.
# usage: scripts/top-offenders.sh logs/access.log [N]
set -eu
LOG=${1:?log file}
N=${2:-10}
awk '$9 ~ /^4/ {print $1}' "$LOG" | sort | uniq -c | sort -rn | head -n "$N"
