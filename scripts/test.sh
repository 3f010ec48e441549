#!/usr/bin/env bash
# The project's test command: installs the test environment (fast when it is
# already there), then runs every test target against it.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/setup-test-env.sh
# shellcheck source=/dev/null
source .test-env/env.sh

cargo test --all-targets --locked "$@"
