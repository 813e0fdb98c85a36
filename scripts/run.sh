#!/usr/bin/env bash
# Runs the server with embedded defaults (SQLite in ./data, local shimlet, workflows from ./workflows),
# on http://localhost:8080 unless flags say otherwise: bash scripts/run.sh --port=9090
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/ModelServeShim -c Release -nologo -v quiet
exec dotnet src/ModelServeShim/bin/Release/net10.0/model-serve-shim.dll "$@"
