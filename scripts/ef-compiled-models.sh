#!/usr/bin/env bash
# Regenerates the EF Core compiled models of both contexts for SQLite (docs/benchmarks.md "One binary": building the
# model at run time took about a third of the start). Run it after every model change (a new migration, a new
# property): the tests ModelServeShim.Workflows.Tests CompiledModelTests and ModelServeShim.IntegrationTests
# ControlPlaneCompiledModelTests fail while a committed compiled model differs from what this script generates.
# The compiled model is used only with SQLite (UseModel in the SQLite registration); another provider builds its model
# at run time. The generated assembly attribute (automatic discovery, for every provider) is removed on purpose.
# It also writes each context's schema script for a fresh SQLite database (`migrations script --no-transactions`, run
# by MigrationExtensions.MigrateIfBehindAsync instead of MigrateAsync; SqliteSchemaScriptTests and
# ControlPlaneSqliteSchemaScriptTests fail while it differs from the migrations): run it after adding a migration too.
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

# <project> <context> <script path inside the project>
schema_script() {
  local log; log="$(mktemp -t mss-schema-script.XXXXXX)"
  if ! ef migrations script --no-transactions --project "$1" --context "$2" --output "$1/$3" >"$log" 2>&1; then
    cat "$log" >&2; rm -f "$log"; echo "ef-compiled-models.sh: migrations script failed for $2" >&2; exit 1
  fi
  rm -f "$log"
  echo "$1/$3"
}

schema_script src/ModelServeShim.Workflows WorkflowDbContext Persistence/Migrations/WorkflowDbContext.sqlite.sql
schema_script src/ModelServeShim ControlPlaneDbContext ControlPlane/Migrations/ControlPlaneDbContext.sqlite.sql
