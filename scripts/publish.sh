#!/usr/bin/env bash
# Publishes the one-binary distribution: for each RID (default linux-x64; also linux-arm64),
#   dist/<rid>/model-serve-shim        the control plane: self-contained, single file, compressed, with the built-in
#                                      pipelines, the default configuration, the web UI and SQLite's native library inside
#   dist/<rid>/model-serve-shim-llama  the embedded llama.cpp runtime, its own single file with only that RID's natives
# The core finds the runtime next to itself (docs/runtime/llama-server.md). The web UI is built once (npm ci when
# designer/node_modules is missing or older than the lock file, then npm run build).
# Usage: bash scripts/publish.sh [RID...]        e.g. bash scripts/publish.sh linux-x64 linux-arm64
# Environment: TRIM=none publishes the core untrimmed (default: TrimMode=partial, see src/ModelServeShim's csproj), OUT=dist,
#              PARTS=llama publishes only model-serve-shim-llama (no web UI build; the runtime image needs only it)
set -euo pipefail
cd "$(dirname "$0")/.."
rids=("$@")
[ "${#rids[@]}" -gt 0 ] || rids=(linux-x64)
out="${OUT:-dist}"

for rid in "${rids[@]}"; do
  case "$rid" in
    linux-x64|linux-arm64) ;;
    *) echo "publish.sh: unsupported RID '$rid' (linux-x64, linux-arm64)" >&2; exit 2 ;;
  esac
done

parts="${PARTS:-all}"
case "$parts" in
  all|llama) ;;
  *) echo "publish.sh: PARTS is all or llama, not '$parts'" >&2; exit 2 ;;
esac

designer=designer
if [ "$parts" = all ] && { [ ! -f "$designer/node_modules/.package-lock.json" ] || [ "$designer/package-lock.json" -nt "$designer/node_modules/.package-lock.json" ]; }; then
  (cd "$designer" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$parts" = all ] && { [ ! -f "$designer/dist/index.html" ] || [ -n "$(find "$designer/src" "$designer/index.html" "$designer/package-lock.json" -newer "$designer/dist/index.html" -print -quit)" ]; }; then
  (cd "$designer" && npm run build --silent)
  touch "$designer/dist/index.html"
fi

for rid in "${rids[@]}"; do
  dest="$out/$rid"
  mkdir -p "$dest"
  common=(-c Release -r "$rid" -p:PublishSingleFile=true -p:SkipDesignerBuild=true -nologo -v quiet)
  if [ "$parts" = all ]; then
    echo "publishing model-serve-shim for $rid"
    trim=()
    [ "${TRIM:-partial}" = none ] && trim=(-p:PublishTrimmed=false)
    dotnet publish src/ModelServeShim "${common[@]}" "${trim[@]}" -o "$out/.publish/$rid/core"
  fi
  echo "publishing model-serve-shim-llama for $rid"
  dotnet publish src/ModelServeShim.LlamaServer "${common[@]}" -o "$out/.publish/$rid/llama"
  # Only the executables: what else publish leaves (pdb and xml of the project references, the static web assets
  # manifest) is not needed to run.
  if [ "$parts" = all ]; then cp "$out/.publish/$rid/core/model-serve-shim" "$dest/"; fi
  cp "$out/.publish/$rid/llama/model-serve-shim-llama" "$dest/"
  rm -rf "$out/.publish/$rid"
  ls -l "$dest"
done
rmdir "$out/.publish" 2>/dev/null || true
