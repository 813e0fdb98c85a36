#!/usr/bin/env bash
# Builds the control plane's container image without any registry:
#   1. the base, modelserveshim/debian-minbase:bookworm: a debootstrap --variant=minbase rootfs of Debian 12 plus
#      libssl3 and ca-certificates (TLS to the Kubernetes API), imported with docker import (built once, then reused);
#   2. modelserveshim/model-serve-shim:<version>: deploy/container/Dockerfile, FROM that base, with
#      dist/linux-x64/model-serve-shim (scripts/publish.sh runs first when it is missing);
#   or, with --runtime, modelserveshim/llama-runtime:<version>: deploy/runtime/Dockerfile, FROM that base, with
#      dist/linux-x64/model-serve-shim-llama (PARTS=llama scripts/publish.sh runs first when it is missing or older than
#      a source of src/ModelServeShim.LlamaServer): the image of the Docker shimlet's built-in runtime profile
#      llama-container (docs/shimlets/docker.md).
# The image is labelled with the SHA-256 of its Dockerfile and binary; an image with the same label is kept as it is.
# The Debian mirror is the first one this machine's apt sources name (MIRROR=… to choose another).
# Needs root (debootstrap) or sudo, docker and debootstrap (apt-get install debootstrap).
# Usage: bash scripts/build-image.sh [tag]             prints the image name on its last line
#        bash scripts/build-image.sh --runtime [tag]   the llama runtime image
#        BASE_ONLY=1 bash scripts/build-image.sh   only the base
set -euo pipefail
cd "$(dirname "$0")/.."
base_image="modelserveshim/debian-minbase:bookworm"
version="$(sed -nE 's|.*<Version>([^<]+)</Version>.*|\1|p' Directory.Build.props | head -n 1)"
if [ "${1:-}" = --runtime ]; then
  shift
  image="${1:-modelserveshim/llama-runtime:$version}"
  binary=dist/linux-x64/model-serve-shim-llama
  dockerfile=deploy/runtime/Dockerfile
  publish=(env PARTS=llama bash scripts/publish.sh linux-x64)
  sources=(src/ModelServeShim.LlamaServer Directory.Build.props Directory.Packages.props)
else
  image="${1:-modelserveshim/model-serve-shim:$version}"
  binary=dist/linux-x64/model-serve-shim
  dockerfile=deploy/container/Dockerfile
  publish=(bash scripts/publish.sh linux-x64)
  sources=()
fi
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

if ! docker image inspect "$base_image" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "build-image.sh: debootstrap is required (apt-get install debootstrap)" >&2; exit 1; }
  mirror="${MIRROR:-}"
  if [ -z "$mirror" ]; then
    mirror="$( (cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -nE 's/^URIs:\s*(\S+).*/\1/p';
                cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | sed -nE 's/^deb\s+(\[[^]]*\]\s+)?(\S+)\s+\S+\s+main.*/\2/p') \
              | grep -v -- '-security' | head -n 1)" || true
  fi
  [ -n "$mirror" ] || { echo "build-image.sh: no Debian mirror in the apt sources; set MIRROR" >&2; exit 1; }
  rootfs="$(mktemp -d)"
  trap '$sudo_cmd rm -rf "$rootfs"' EXIT
  echo "debootstrap bookworm (minbase) from $mirror"
  $sudo_cmd debootstrap --variant=minbase --include=libssl3,ca-certificates bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
    || { echo "debootstrap failed; last lines:"; tail -n 20 "$rootfs.log"; exit 1; }
  rm -f "$rootfs.log"
  # What a server image does not need: apt's lists and caches, documentation, locales.
  $sudo_cmd rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/info/*
  $sudo_cmd tar -C "$rootfs" -c . | docker import - "$base_image" >/dev/null
  $sudo_cmd rm -rf "$rootfs"
  trap - EXIT
  echo "built $base_image"
fi
[ "${BASE_ONLY:-0}" = 1 ] && exit 0

if [ ! -x "$binary" ] || { [ "${#sources[@]}" -gt 0 ] && [ -n "$(find "${sources[@]}" -newer "$binary" -type f \
      -not -path '*/bin/*' -not -path '*/obj/*' -print -quit)" ]; }; then
  "${publish[@]}"
fi
content="$(cat "$dockerfile" "$binary" | sha256sum | cut -c1-64)"
if [ "$(docker image inspect -f '{{ index .Config.Labels "modelserveshim.io/content" }}' "$image" 2>/dev/null)" = "$content" ]; then
  echo "$image is up to date"
  echo "$image"
  exit 0
fi
context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
cp "$binary" "$context/"
cp "$dockerfile" "$context/Dockerfile"
docker build -q --network host --build-arg BASE_IMAGE="$base_image" --label "modelserveshim.io/content=$content" \
  -t "$image" "$context" >/dev/null
echo "$image"
