#!/usr/bin/env bash
# Remove Nextflow scratch once a run's QC has been signed off in the LIMS.
# Usage: scripts/cleanup_work.sh RUN-2611
set -euo pipefail
RUN=${1:?run id}
WORK=/scratch/seqcore/nf-work/${RUN}

status=$(python lims/get_status.py --run "$RUN")
if [[ "$status" != "QC_SIGNED_OFF" ]]; then
    echo "refusing: $RUN is $status, not QC_SIGNED_OFF" >&2
    exit 1
fi

echo "removing $WORK ($(du -sh "$WORK" | cut -f1))"
rm -rf -- "$WORK"
rm -rf .nextflow/cache/"$RUN"* logs/*.tmp
