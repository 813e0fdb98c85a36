#!/usr/bin/env bash
# Starts one real model-serve-shim for the browser tests: a fresh data directory, a models root
# holding the generated sample GGUF, the repository's workflows, and the built web UI (wwwroot next
# to the host binary). Usage: e2e/server.sh <name> <port> [extra server flags...]
# Environment variables (e.g. Auth__ApiKeys__0__KeyHash) pass through to the server.
set -euo pipefail
name="$1"; port="$2"; shift 2
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
host_dll="$repo/src/ModelServeShim/bin/Release/net10.0/model-serve-shim.dll"
[ -f "$host_dll" ] || { echo "build the server first: dotnet build ModelServeShim.sln -c Release" >&2; exit 1; }
[ -f "$(dirname "$host_dll")/wwwroot/index.html" ] || { echo "the web UI is not in the server's output (wwwroot); build without -p:SkipDesignerBuild=true" >&2; exit 1; }
run="$here/.artifacts/servers/$name"
rm -rf "$run"
mkdir -p "$run/models"
dotnet "$host_dll" models make-sample "$run/models" >/dev/null
# The optional Elsa Studio add-on (scripts/install-elsa-studio.sh), when it is installed.
studio=()
[ -d "$repo/artifacts/elsa-studio/_framework" ] && studio=(--ElsaStudio:Directory="$repo/artifacts/elsa-studio")
exec dotnet "$host_dll" --port="$port" --listen=localhost --data-dir="$run/data" \
  --workflows-dir="$repo/workflows" --Models:Roots:0="$run/models" "${studio[@]}" "$@"
