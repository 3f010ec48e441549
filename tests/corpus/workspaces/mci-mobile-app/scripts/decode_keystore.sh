#!/usr/bin/env bash
# Decode the upload keystore from the CI secret into the runner's temp dir.
# The keystore never touches the workspace, so it cannot end up in an artifact.
set -euo pipefail
: "${ANDROID_KEYSTORE_BASE64:?secret ANDROID_KEYSTORE_BASE64 is not set}"
out="${RUNNER_TEMP:-/tmp}/upload.jks"
printf '%s' "$ANDROID_KEYSTORE_BASE64" | base64 --decode > "$out"
chmod 600 "$out"
keytool -list -keystore "$out" -storepass:env ANDROID_KEYSTORE_PASSWORD >/dev/null 2>&1 \
  || echo "::warning::could not open the keystore with ANDROID_KEYSTORE_PASSWORD (only checked when set)"
echo "keystore written to $out"
