#!/usr/bin/env bash
# Builds vanguard's image (the Containerfile's `runtime` target) from a
# vanguard binary already built on this machine, without pulling anything:
# a local image with the shared libraries the binary links (ldd) stands in
# for distroless, and one holding the stripped binary for the builder stage. Used by tests/container.rs and scripts/bench-container.sh.
#
#   scripts/container-image.sh BINARY TAG
#
# Prints the image's ID. Needs podman (and strip, from binutils).
set -euo pipefail

bin=${1:?usage: container-image.sh BINARY TAG}
tag=${2:?usage: container-image.sh BINARY TAG}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
root=$scratch/root
mkdir -p "$root/tmp" "$root/etc"
chmod 1777 "$root/tmp"
mkdir -p "$scratch/bin"
strip -o "$scratch/bin/vanguard" "$bin"
# The libraries the binary links, at the paths the loader looks them up.
for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# What distroless:nonroot has and vanguard reads: the users.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
# Two images: the base (libraries, users, /tmp) and the binary (at
# /vanguard, where the builder stage leaves it), so the image holds it once.
base="$tag-base"
binary="$tag-bin"
tar -C "$root" -cf "$scratch/base.tar" .
tar -C "$scratch/bin" -cf "$scratch/bin.tar" vanguard
podman import --quiet "$scratch/base.tar" "$base" >/dev/null
podman import --quiet "$scratch/bin.tar" "$binary" >/dev/null
podman build --quiet --file "$repo/Containerfile" --target runtime \
    --build-arg "RUNTIME_BASE=$base" --build-arg "BINARY_FROM=$binary" \
    --tag "$tag" "$repo"
