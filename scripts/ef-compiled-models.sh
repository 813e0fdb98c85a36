#!/usr/bin/env bash
# Regenerates the EF Core compiled models of both contexts for SQLite (docs/benchmarks.md "One binary": building the
# model at run time took about a third of the start). Run it after every model change (a new migration, a new
# property): the tests ModelServeShim.Workflows.Tests CompiledModelTests and ModelServeShim.IntegrationTests
# ControlPlaneCompiledModelTests fail while a committed compiled model differs from what this script generates.
# The compiled model is used only with SQLite (UseModel in the SQLite registration); another provider builds its model
# at run time. The generated assembly attribute (automatic discovery, for every provider) is removed on purpose.
# Needs the dotnet-ef tool (README: dotnet tool install --global dotnet-ef --version 10.0.12).
# Usage: bash scripts/ef-compiled-models.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ef() { if command -v dotnet-ef >/dev/null; then dotnet-ef "$@"; else "$HOME/.dotnet/tools/dotnet-ef" "$@"; fi; }

# <project> <context> <output dir inside the project> <namespace>
# Generated into a temporary folder first (the project must build, and it builds with the current compiled model),
# then swapped in whole, so files of entity types that no longer exist go too. If the old compiled model no longer
# compiles (an entity class was deleted), remove its file for that class and run again.
optimize() {
  local tmp log
  tmp="$(mktemp -d -t mss-compiled-model.XXXXXX)"; log="$tmp.log"
  if ! ef dbcontext optimize --project "$1" --context "$2" --output-dir "$tmp" --namespace "$4" >"$log" 2>&1; then
    cat "$log" >&2; rm -rf "$tmp" "$log"; echo "ef-compiled-models.sh: dbcontext optimize failed for $2" >&2; exit 1
  fi
  rm "$tmp/$2AssemblyAttributes.cs"
  rm -rf "${1:?}/$3" && mkdir -p "$1/$3" && cp "$tmp"/*.cs "$1/$3/"
  rm -rf "$tmp" "$log"
  echo "$1/$3: $(find "$1/$3" -name '*.cs' | wc -l) files"
}

optimize src/ModelServeShim.Workflows WorkflowDbContext Persistence/CompiledModel ModelServeShim.Workflows.Persistence.CompiledModel
optimize src/ModelServeShim ControlPlaneDbContext ControlPlane/CompiledModel ModelServeShim.ControlPlane.CompiledModel
