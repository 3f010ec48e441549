#!/usr/bin/env bash
# Print DHL shipping labels (ZPL) on the warehouse Zebra printers via CUPS.
#
#   scripts/print_labels.sh <picking-name> [printer]
#
# The printers are raw queues (no driver; the label is already ZPL):
#   lpadmin -p Zebra_Pack1 -E -v socket://10.40.0.21:9100 -m raw -o printer-is-shared=false
#   lpadmin -p Zebra_Pack2 -E -v socket://10.40.0.22:9100 -m raw -o printer-is-shared=false
# Check them with `lpstat -p -d` and clear a stuck queue with `cancel -a Zebra_Pack1`.
# The CUPS web UI is on http://localhost:631 on the packing station only
# (cupsctl --no-remote-admin --no-share-printers).
set -euo pipefail

picking="${1:?usage: print_labels.sh <picking-name> [printer]}"
printer="${2:-Zebra_Pack1}"
spool="/var/spool/acme-labels"
label="${spool}/${picking//\//_}.zpl"

if [[ ! -s "$label" ]]; then
  echo "no label for $picking in $spool (did the DHL request fail?)" >&2
  exit 1
fi

lp -d "$printer" -o raw -t "label $picking" "$label"
# notes: 0
