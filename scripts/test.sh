#!/usr/bin/env bash
# Runs every test suite of ModelServeShim and prints one closing line: "N passed, N failed".
# Installs what the tests need through the project's own scripts (idempotent, safe to re-run).
# Usage: bash scripts/test.sh
set -uo pipefail
cd "$(dirname "$0")/.."

results_dir="$(mktemp -d)"
trap 'rm -rf "$results_dir"' EXIT

bash scripts/install-test-deps.sh || { echo "test dependencies could not be installed"; echo "0 passed, 1 failed"; exit 1; }

# The .NET suites (unit, integration through HTTP, crash-resume with a real process). Building the
# solution also builds the web UI (designer/, npm run build) into the server's output.
dotnet build ModelServeShim.sln -c Release -nologo -v quiet -warnaserror 2>&1 | tail -n 20
build_rc=${PIPESTATUS[0]}

passed=0
failed=0
if [ "$build_rc" -ne 0 ]; then
  echo "build failed (exit $build_rc)"
  failed=1
else
  # The Docker shimlet's runtime image, which its tests deploy: the llama runtime is published again only when its
  # sources changed, and the image is rebuilt only when its content (Dockerfile, binary) changed.
  bash scripts/build-image.sh --runtime 2>&1 | tail -n 5
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

# The OpenAI-compatible gateway with the official openai npm client, against a real server from the Release build
# (node:test; its TAP summary lines "# pass N" and "# fail N" join the totals).
if [ "$build_rc" -ne 0 ]; then
  echo "gateway OpenAI-client tests skipped: the build failed"
else
  (cd tests/gateway-openai && node --test --test-concurrency=1 --test-reporter=tap gateway.test.mjs) 2>&1 | tee "$results_dir/openai.tap" | tail -n 20
  p=$(sed -nE 's/^# pass ([0-9]+)$/\1/p' "$results_dir/openai.tap"); f=$(sed -nE 's/^# fail ([0-9]+)$/\1/p' "$results_dir/openai.tap")
  [ -n "$p" ] || { p=0; f=1; }
  echo "gateway OpenAI-client tests: $p passed, ${f:-0} failed"
  passed=$((passed + p)); failed=$((failed + ${f:-0}))
fi

# The web UI: unit tests (Vitest), then browser tests (Playwright driving /usr/bin/chromium against
# real servers from the Release build above, which also built the UI into the server's wwwroot).
# Each reporter writes JSON; its totals join the .NET ones.
count_json() { # <file> <passed expr> <failed expr>: prints "passed failed", or "0 1" when the file is missing or unreadable
  node -e '
    const fs = require("fs");
    try { const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      console.log(`${eval(process.argv[2])} ${eval(process.argv[3])}`); } catch { console.log("0 1"); }' "$@"
}
(cd designer && npx vitest run --reporter=default --reporter=json --outputFile.json="$results_dir/vitest.json") 2>&1 | tail -n 30
read -r p f < <(count_json "$results_dir/vitest.json" "r.numPassedTests" "r.numFailedTests + (r.success === false && r.numFailedTests === 0 ? 1 : 0)")
echo "front-end unit tests: $p passed, $f failed"
passed=$((passed + p)); failed=$((failed + f))

if [ "$build_rc" -ne 0 ]; then
  echo "browser tests skipped: the build failed"
  failed=$((failed + 1))
else
  (cd designer && PW_JSON="$results_dir/playwright.json" npx playwright test) 2>&1 | tail -n 60
  read -r p f < <(count_json "$results_dir/playwright.json" "r.stats.expected + r.stats.flaky" \
    "r.stats.unexpected + (r.errors && r.errors.length && !r.stats.unexpected ? 1 : 0)")
  echo "browser tests: $p passed, $f failed (screenshots in designer/e2e/.artifacts/screens)"
  passed=$((passed + p)); failed=$((failed + f))
fi

# The one-binary distribution (issue #10): publishes linux-x64 once, runs the single file from an empty folder
# (version, help, start, pipelines, UI, a local deploy with a completion), builds and starts its container image.
if [ "$build_rc" -ne 0 ]; then
  echo "one-binary tests skipped: the build failed"
  failed=$((failed + 1))
else
  bash scripts/test-dist.sh 2>&1 | tee "$results_dir/dist.log" | tail -n 40
  read -r p f < <(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$/\1 \2/p' "$results_dir/dist.log" | tail -n 1)
  p="${p:-0}"; f="${f:-1}"
  echo "one-binary tests: $p passed, $f failed"
  passed=$((passed + p)); failed=$((failed + f))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
