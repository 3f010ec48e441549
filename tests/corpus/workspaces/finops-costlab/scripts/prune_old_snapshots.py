#!/usr/bin/env python3
# notes: 0
"""Delete EBS snapshots older than --days that no AMI references.

Dry-run unless --apply. Skips snapshots tagged finops:keep=true or created by
AWS Backup (they are managed by backup plans' lifecycle rules).
"""
import argparse
import datetime as dt

import boto3


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--region", default="eu-west-1")
    ap.add_argument("--days", type=int, default=180)
    ap.add_argument("--apply", action="store_true")
    args = ap.parse_args()

    ec2 = boto3.client("ec2", region_name=args.region)
    cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=args.days)

    in_use = set()
    for page in ec2.get_paginator("describe_images").paginate(Owners=["self"]):
        for img in page["Images"]:
            for bdm in img.get("BlockDeviceMappings", []):
                if "Ebs" in bdm and "SnapshotId" in bdm["Ebs"]:
                    in_use.add(bdm["Ebs"]["SnapshotId"])

    total_gb = 0
    for page in ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"]):
        for snap in page["Snapshots"]:
            tags = {t["Key"]: t["Value"] for t in snap.get("Tags", [])}
            if snap["StartTime"] > cutoff or snap["SnapshotId"] in in_use:
                continue
            if tags.get("finops:keep") == "true" or "aws:backup:source-resource" in tags:
                continue
            total_gb += snap["VolumeSize"]
            print(f"{'DELETE' if args.apply else 'would delete'} {snap['SnapshotId']} "
                  f"{snap['VolumeSize']}GiB {snap['StartTime']:%Y-%m-%d} {snap.get('Description', '')[:60]}")
            if args.apply:
                ec2.delete_snapshot(SnapshotId=snap["SnapshotId"])
    print(f"total: {total_gb} GiB (~${total_gb * 0.05:.2f}/month at standard tier)")


if __name__ == "__main__":
    main()
