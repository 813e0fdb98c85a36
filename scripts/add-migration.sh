#!/usr/bin/env bash
# Adds an EF Core migration named <Name> for BOTH state providers (SQLite and PostgreSQL), so the two schemas never
# drift apart. Each context has one migrations folder per provider:
#   workflows      src/ModelServeShim.Workflows/Persistence/Migrations           (SQLite, WorkflowDbContext)
#                  src/ModelServeShim.Workflows/Persistence/Migrations/Postgres  (PostgreSQL, PostgresWorkflowDbContext)
#   control-plane  src/ModelServeShim/ControlPlane/Migrations                    (SQLite, ControlPlaneDbContext)
#                  src/ModelServeShim/ControlPlane/Migrations/Postgres           (PostgreSQL, PostgresControlPlaneDbContext)
# Without a context argument, every context and provider whose snapshot differs from the model gets the migration
# (one without changes is skipped; after merging a branch that added a SQLite migration only, this adds the missing
# PostgreSQL one). With a context argument, both providers of that context get it. No database is contacted.
# See docs/state.md.
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
  # Each provider's snapshot is checked on its own: after a merge, a table another branch added for SQLite only
  # shows up as a pending change of the PostgreSQL context alone, and gets its PostgreSQL migration here.
  for provider in "$sqlite|$sqlite_dir" "$postgres|$postgres_dir"; do
    IFS='|' read -r context dir <<<"$provider"
    if [ -z "$only" ] && "${ef[@]}" migrations has-pending-model-changes --context "$context" >/dev/null 2>&1; then
      echo "$key ($context): no model change, skipped"
      continue
    fi
    "${ef[@]}" migrations add "$name" --context "$context" --output-dir "$dir" >/dev/null
    echo "$key ($context): added $name in $dir"
    added=$((added + 1))
  done
done
[ "$added" -gt 0 ] || echo "nothing to add"
