#!/usr/bin/env bash
# Installs Elsa Studio (the npm package @elsa-workflows/elsa-studio-wasm, MIT) as ModelServeShim's optional designer
# add-on, outside the single binary: only the brotli and gzip copies of the files that have them (the server picks one
# by Accept-Encoding and unpacks gzip itself for a client that takes neither), the files that have none, no source
# maps, and not the package's index.html (it uses a stale element tag and loads Google fonts; the server writes its
# own page). Idempotent. Usage: scripts/install-elsa-studio.sh [target folder, default artifacts/elsa-studio]
# Then start the server with --ElsaStudio:Directory=<target> (or put the folder next to the binary as elsa-studio/).
set -euo pipefail
version="3.8.2"
package="@elsa-workflows/elsa-studio-wasm"
repo="$(cd "$(dirname "$0")/.." && pwd)"
# Absolute: the copy below runs from inside the unpacked package.
target="$(realpath -m "${1:-$repo/artifacts/elsa-studio}")"
command -v npm >/dev/null || { echo "npm is required to fetch $package (Node.js 20+)"; exit 1; }

if [ -f "$target/.elsa-studio-version" ] && [ "$(cat "$target/.elsa-studio-version")" = "$version" ]; then
  echo "Elsa Studio $version is installed in $target"
  exit 0
fi

work="$(mktemp -d -t mss-elsa-studio.XXXXXX)"
trap 'rm -rf "$work"' EXIT
# npm's own client, with its configured registry, timeout and retries (fetch-retries reads the HTTP status).
(cd "$work" && npm pack --silent --fetch-timeout=120000 --fetch-retries=3 "$package@$version" >/dev/null) \
  || { echo "npm could not fetch $package@$version; check the npm registry configuration (npm config get registry)"; exit 1; }
tar -xzf "$work"/*.tgz -C "$work"
src="$work/package"
[ -d "$src/_framework" ] || { echo "$package@$version has no _framework folder: not the expected package layout"; exit 1; }

staging="$target.partial"
rm -rf "$staging"
mkdir -p "$staging"
(
  cd "$src"
  find _framework _content -type f | while IFS= read -r f; do
    case "$f" in
      *.map|*.map.br|*.map.gz) continue ;;
      *.br|*.gz) # A compressed copy is kept; its original is dropped below.
        mkdir -p "$staging/$(dirname "$f")"; cp "$f" "$staging/$f" ;;
      *) if [ -f "$f.br" ] || [ -f "$f.gz" ]; then continue; fi
        mkdir -p "$staging/$(dirname "$f")"; cp "$f" "$staging/$f" ;;
    esac
  done
  cp Elsa.Studio.Host.CustomElements.styles.css "$staging/"
)
# Every compressed-only file must have a gzip copy: the server unpacks it for clients that accept no encoding.
missing_gz="$(cd "$staging" && find . -name '*.br' | while IFS= read -r f; do [ -f "${f%.br}.gz" ] || [ -f "${f%.br}" ] || echo "$f"; done)"
[ -z "$missing_gz" ] || { echo "files with brotli but neither gzip nor plain copies: $missing_gz"; exit 1; }
echo "$version" >"$staging/.elsa-studio-version"
rm -rf "$target"
mv "$staging" "$target"
echo "installed Elsa Studio $version in $target ($(du -sh "$target" | cut -f1))"
