#!/usr/bin/env bash
# Runs every test suite of ModelServeShim and prints one closing line: "N passed, N failed".
# Installs what the tests need through the project's own scripts (idempotent, safe to re-run).
# Usage: bash scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

results_dir="$(mktemp -d)"
trap 'rm -rf "$results_dir"' EXIT

bash scripts/install-test-deps.sh || { echo "test dependencies could not be installed"; echo "0 passed, 1 failed"; exit 1; }

# The .NET suites (unit, integration through HTTP, crash-resume with a real process).
dotnet build ModelServeShim.sln -c Release -nologo -v quiet -warnaserror 2>&1 | tail -n 20
build_rc=${PIPESTATUS[0]}

passed=0
failed=0
if [ "$build_rc" -ne 0 ]; then
  echo "build failed (exit $build_rc)"
  failed=1
else
  dotnet test ModelServeShim.sln -c Release --no-build -nologo \
    --blame-hang-timeout 10m 2>&1 | tee "$results_dir/dotnet-test.log"
  test_rc=${PIPESTATUS[0]}
  # One summary line per test assembly: "Passed!  - Failed:     0, Passed:    63, Skipped: ..."
  while read -r f p; do
    failed=$((failed + f))
    passed=$((passed + p))
  done < <(sed -nE 's/.*(Passed|Failed)!\s+-\s+Failed:\s+([0-9]+),\s+Passed:\s+([0-9]+),.*/\2 \3/p' "$results_dir/dotnet-test.log")
  if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then
    echo "dotnet test exited $test_rc without a failing test (a crashed or hung test host)"
    failed=$((failed + 1))
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
