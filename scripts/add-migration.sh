#!/usr/bin/env bash
# Adds an EF Core migration named <Name> for BOTH state providers (SQLite and PostgreSQL), so the two schemas never
# drift apart. Each context has one migrations folder per provider:
#   workflows      src/ModelServeShim.Workflows/Persistence/Migrations           (SQLite, WorkflowDbContext)
#                  src/ModelServeShim.Workflows/Persistence/Migrations/Postgres  (PostgreSQL, PostgresWorkflowDbContext)
#   control-plane  src/ModelServeShim/ControlPlane/Migrations                    (SQLite, ControlPlaneDbContext)
#                  src/ModelServeShim/ControlPlane/Migrations/Postgres           (PostgreSQL, PostgresControlPlaneDbContext)
# Without a context argument, every context whose model changed gets the migration (a context without changes is
# skipped). No database is contacted. See docs/state.md.
#
# usage: scripts/add-migration.sh <Name> [workflows|control-plane]
set -euo pipefail
name="${1:-}"
only="${2:-}"
if [[ ! "$name" =~ ^[A-Z][A-Za-z0-9]*$ ]]; then
  echo "usage: scripts/add-migration.sh <Name> [workflows|control-plane]   (Name in PascalCase, e.g. AddLeases)" >&2
  exit 2
fi
case "$only" in ""|workflows|control-plane) ;; *) echo "unknown context '$only': use workflows or control-plane" >&2; exit 2 ;; esac

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PATH="$PATH:$HOME/.dotnet/tools"
command -v dotnet-ef >/dev/null || { echo "dotnet-ef is required: dotnet tool install --global dotnet-ef --version 10.0.12" >&2; exit 1; }

host=src/ModelServeShim/ModelServeShim.csproj
dotnet build "$host" -c Debug -p:SkipDesignerBuild=true -nologo -v q >/dev/null

# context key | project | SQLite context | PostgreSQL context | SQLite folder | PostgreSQL folder
contexts=(
  "workflows|src/ModelServeShim.Workflows/ModelServeShim.Workflows.csproj|WorkflowDbContext|PostgresWorkflowDbContext|Persistence/Migrations|Persistence/Migrations/Postgres"
  "control-plane|$host|ControlPlaneDbContext|PostgresControlPlaneDbContext|ControlPlane/Migrations|ControlPlane/Migrations/Postgres"
)
added=0
for entry in "${contexts[@]}"; do
  IFS='|' read -r key project sqlite postgres sqlite_dir postgres_dir <<<"$entry"
  [ -n "$only" ] && [ "$only" != "$key" ] && continue
  ef=(dotnet ef --project "$project" --startup-project "$host" --configuration Debug --no-build)
  if [ -z "$only" ] && "${ef[@]}" migrations has-pending-model-changes --context "$sqlite" >/dev/null 2>&1; then
    echo "$key: no model change, skipped"
    continue
  fi
  "${ef[@]}" migrations add "$name" --context "$sqlite" --output-dir "$sqlite_dir" >/dev/null
  "${ef[@]}" migrations add "$name" --context "$postgres" --output-dir "$postgres_dir" >/dev/null
  echo "$key: added $name in $sqlite_dir and $postgres_dir"
  added=$((added + 1))
done
[ "$added" -gt 0 ] || echo "nothing to add"
