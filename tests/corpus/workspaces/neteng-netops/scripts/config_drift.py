#!/usr/bin/env python3
"""Compare a device's backed-up config with the rendered intended config.

Usage: scripts/config_drift.py configs/cisco/core-rtr-01.cfg build/intended/core-rtr-01.cfg
Lines carrying <redacted> are ignored on both sides, so secret rotation never
shows up as drift.
"""
import difflib
import sys

IGNORE = ("<redacted>", "! exported", "/* exported", "ntp clock-period")


def load(path):
    with open(path, encoding="utf-8") as fh:
        return [l.rstrip() for l in fh if not any(tok in l for tok in IGNORE)]


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    running, intended = load(argv[1]), load(argv[2])
    diff = list(difflib.unified_diff(intended, running, "intended", "running", lineterm=""))
    print("\n".join(diff) or "no drift")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
