#!/usr/bin/env bash
# notes: 0
# List (and with --apply, snapshot then delete) EBS volumes that have been
# "available" (unattached) for more than N days. Dry-run by default.
#
#   AWS_PROFILE=finops-cleanup-dev ./scripts/cleanup_unattached_ebs.sh --region eu-west-1 --days 30
#   AWS_PROFILE=finops-cleanup-dev ./scripts/cleanup_unattached_ebs.sh --region eu-west-1 --days 30 --apply
set -euo pipefail

REGION="eu-west-1"; DAYS=30; APPLY=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --region) REGION="$2"; shift 2 ;;
    --days)   DAYS="$2"; shift 2 ;;
    --apply)  APPLY=1; shift ;;
    *) echo "unknown arg $1" >&2; exit 2 ;;
  esac
done

cutoff=$(date -u -d "-${DAYS} days" +%Y-%m-%dT%H:%M:%S)

aws ec2 describe-volumes --region "$REGION" \
  --filters Name=status,Values=available \
  --query "Volumes[?CreateTime<'${cutoff}'].[VolumeId,Size,VolumeType,CreateTime,Tags[?Key=='owner']|[0].Value]" \
  --output text | while read -r vol size type created owner; do
    # keep anything explicitly marked
    if aws ec2 describe-tags --region "$REGION" --filters "Name=resource-id,Values=$vol" "Name=key,Values=finops:keep" \
         --query 'Tags[0].Value' --output text | grep -qv None; then
      echo "KEEP  $vol (finops:keep)"; continue
    fi
    echo "CANDIDATE $vol ${size}GiB $type created=$created owner=${owner:-none}"
    if [[ $APPLY -eq 1 ]]; then
      snap=$(aws ec2 create-snapshot --region "$REGION" --volume-id "$vol" \
        --description "finops pre-delete backup of $vol" \
        --tag-specifications "ResourceType=snapshot,Tags=[{Key=finops:predelete,Value=true},{Key=cost-center,Value=cc-1001-platform}]" \
        --query SnapshotId --output text)
      aws ec2 wait snapshot-completed --region "$REGION" --snapshot-ids "$snap"
      aws ec2 delete-volume --region "$REGION" --volume-id "$vol"
      echo "DELETED $vol (backup $snap)"
    fi
done
