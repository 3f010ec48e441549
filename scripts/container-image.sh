#!/usr/bin/env bash
# Builds vanguard's image (the Containerfile's `runtime` target) from a
# vanguard binary already built on this machine, without pulling anything:
# a local image with the shared libraries the binary links (ldd) stands in
# for distroless, and one that also holds the stripped binary at /vanguard
# and a shell stands in for the Rust image (the builder stage then skips
# cargo and passes the binary on). Used by tests/container.rs and scripts/bench-container.sh.
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

# The libraries the binary links, at the paths the loader looks them up.
for lib in $(ldd "$bin" | grep -o '/[^ ]*' | sort -u); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done
# What distroless:nonroot has and vanguard reads: the users.
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
base="$tag-base"
builder="$tag-builder"
tar -C "$root" -cf "$scratch/base.tar" .
# The builder stand-in: the base plus the binary and a shell (dash, which
# needs nothing but the libc already there) for the stage's RUN.
sh=$(readlink -f /bin/sh)
mkdir -p "$root/bin"
cp "$sh" "$root/bin/sh"
strip -o "$root/vanguard" "$bin"
tar -C "$root" -cf "$scratch/builder.tar" .
podman import --quiet "$scratch/base.tar" "$base" >/dev/null
podman import --quiet "$scratch/builder.tar" "$builder" >/dev/null
podman build --quiet --file "$repo/Containerfile" --target runtime \
    --build-arg "RUNTIME_BASE=$base" --build-arg "RUST_IMAGE=$builder" \
    --tag "$tag" "$repo"
