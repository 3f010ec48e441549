#!/usr/bin/env bash
# Upload demultiplexed FASTQ and pipeline results for one run.
set -euo pipefail
RUN=${1:?run id}
export AWS_PROFILE=${AWS_PROFILE:-seqcore-upload}

aws sts get-caller-identity >/dev/null || { echo "run: aws sso login --profile $AWS_PROFILE" >&2; exit 1; }

aws s3 sync "/shared/seqcore/fastq/${RUN}/" "s3://seqcore-raw-prod/fastq/${RUN}/" \
    --exclude '*' --include '*.fastq.gz' --include '*.md5' \
    --sse aws:kms --sse-kms-key-id alias/seqcore-raw --only-show-errors

aws s3 sync "results/${RUN}/" "s3://seqcore-results-prod/runs/${RUN}/" \
    --exclude 'work/*' --exclude '*.bam' --only-show-errors

# Lifecycle rule moves fastq/ to Glacier Deep Archive after 90 days.
