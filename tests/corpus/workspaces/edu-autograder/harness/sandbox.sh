#!/usr/bin/env bash
# Run one submission's tests in a throw-away container: no network, read-only
# root filesystem, 512 MB RAM, 60 s wall clock. Usage: sandbox.sh SUBMISSION_DIR TEST_DIR
set -euo pipefail
sub="$(realpath "$1")"; tests="$(realpath "$2")"
out="$(mktemp -d)"
timeout 60 docker run --rm --network none --read-only --memory 512m \
  --tmpfs /tmp:rw,size=64m --user 65534:65534 \
  -v "$sub/login.py:/work/submission.py:ro" -v "$tests:/work/tests:ro" \
  -v "$out:/out" -w /work "${GRADER_IMAGE:-cs3410/grader:2026.1}" \
  python -m pytest -q -p no:cacheprovider --junitxml=/out/junit.xml tests/ || true
cat "$out/junit.xml"
rm -rf "$out"
