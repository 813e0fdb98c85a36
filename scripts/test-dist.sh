#!/usr/bin/env bash
# Tests the published one-binary distribution as a new user would use it (issue #10), and its container image:
#  1. publishes linux-x64 (scripts/publish.sh; SKIP_PUBLISH=1 reuses dist/linux-x64);
#  2. copies ONLY dist/linux-x64/model-serve-shim and model-serve-shim-llama into an empty folder and, from there:
#     --version, --help, a missing default pipeline stops the start (exit 2); starts it with a fresh data dir; the
#     built-in deploy pipelines in GET /api/v1/plugins; the web UI at /; deploys the sample GGUF with the local shimlet to
#     Running and gets a completion from its endpoint; an appsettings.json in the working directory is read; hot-loads
#     the Docker shimlet plugin (its build output, from the solution build) on the trimmed framework;
#  3. builds the image (scripts/build-image.sh) and runs it on the local dockerd (host network, 127.0.0.1): /healthz 200.
# Prints one line per check and ends with "N passed, N failed". Usage: bash scripts/test-dist.sh
set -uo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
passed=0
failed=0
ok() { echo "  ok    $1"; passed=$((passed + 1)); }
fail() { echo "  FAIL  $1${2:+: $2}"; failed=$((failed + 1)); }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
wait_healthz() { # <port> <seconds>
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/healthz")" = 200 ] && return 0
    sleep 0.2
  done
  return 1
}

if [ "${SKIP_PUBLISH:-0}" != 1 ] || [ ! -x dist/linux-x64/model-serve-shim ]; then
  bash scripts/publish.sh linux-x64 >/tmp/mss-publish.log 2>&1 || { tail -n 30 /tmp/mss-publish.log; fail "publish linux-x64"; finish; }
fi
ok "publish linux-x64 ($(stat -c %s dist/linux-x64/model-serve-shim) bytes core, $(stat -c %s dist/linux-x64/model-serve-shim-llama) bytes llama runtime)"

work="$(mktemp -d -t mss-dist.XXXXXX)"
server_pid=""
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  [ -n "${container:-}" ] && docker rm -f "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
cp dist/linux-x64/model-serve-shim dist/linux-x64/model-serve-shim-llama "$work/"
cd "$work"
export DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/.extract"

# --version: the real version and, built from a git checkout, its commit.
commit="$(git -C "$repo" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)"
version_line="$(./model-serve-shim --version 2>&1)"
[[ "$version_line" =~ ^ModelServeShim\ v[0-9]+\.[0-9]+\.[0-9]+.*\(commit:\ ${commit}\)$ ]] && ok "--version: $version_line" || fail "--version" "$version_line (expected commit $commit)"

help="$(./model-serve-shim --help 2>&1)"
for word in --port --shimlet --pipeline --data-dir --listen --workflows-dir "keys hash" "models make-sample"; do
  grep -qF -- "$word" <<<"$help" || { fail "--help lists $word"; continue; }
done
grep -qF -- "--workflows-dir" <<<"$help" && grep -qF "models make-sample" <<<"$help" && ok "--help lists flags and subcommands"

out="$(./model-serve-shim --pipeline=no-such-pipeline --port="$(free_port)" --listen=127.0.0.1 --data-dir="$work/bad-data" 2>&1)"
rc=$?
[ "$rc" -eq 2 ] && grep -qF "'no-such-pipeline' is not a loaded pipeline" <<<"$out" \
  && ok "a missing default pipeline stops the start (exit 2)" || fail "missing default pipeline" "exit $rc: $(tail -n 3 <<<"$out")"

./model-serve-shim models make-sample "$work/models" >/dev/null 2>&1 && ok "models make-sample" || fail "models make-sample"

# The working directory's appsettings.json is read (it overrides the embedded defaults): it sets the port.
port="$(free_port)"
printf '{ "ModelServeShim": { "Port": %s } }\n' "$port" >"$work/appsettings.json"
Models__Roots__0="$work/models" ./model-serve-shim --listen=127.0.0.1 --data-dir="$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
if wait_healthz "$port" 30; then ok "starts with a fresh data dir on the port from ./appsettings.json; /healthz 200"; else
  fail "start" "$(tail -n 20 "$work/server.log")"; finish; fi
base="http://127.0.0.1:$port"

plugins="$(curl -s "$base/api/v1/plugins")"
for p in opensourcellm privatellm quant-llm; do
  grep -q "\"name\":\"$p\"" <<<"$plugins" && ok "built-in pipeline $p in /api/v1/plugins" || fail "pipeline $p" "$plugins"
done

ui_type="$(curl -s -o "$work/index.html" -w '%{http_code} %{content_type}' "$base/")"
[[ "$ui_type" == "200 text/html"* ]] && grep -qi '<div id="root">' "$work/index.html" && ok "the web UI at / ($ui_type)" || fail "web UI" "$ui_type"
asset="$(grep -oE '/assets/[^"]+\.js' "$work/index.html" | head -n 1)"
cache="$(curl -s -o /dev/null -D - "$base$asset" | tr -d '\r' | sed -nE 's/^cache-control: (.*)/\1/Ip')"
[[ "$cache" == *immutable* ]] && ok "embedded $asset is served immutable" || fail "asset $asset" "cache-control '$cache'"
grep -q "EntityFrameworkCore.Database.Command" "$work/server.log" && fail "the embedded appsettings.json's log levels" "EF Core logs SQL" || ok "no SQL logged (embedded default log levels)"

deploy="$(curl -s -X POST "$base/api/v1/modserv/deploy" -H 'Content-Type: application/json' -d "{
  \"modelName\": \"sample\", \"modelFile\": \"$work/models/sample-llama-f32.gguf\",
  \"resourceRequirements\": { \"acceleratorCount\": 0, \"cpu\": \"2\", \"memory\": \"4Gi\" } }")"
service="$(sed -nE 's/.*"serviceId":"([^"]+)".*/\1/p' <<<"$deploy")"
[ -n "$service" ] && ok "deploy accepted ($service)" || { fail "deploy" "$deploy"; finish; }
state=""
for _ in $(seq 1 150); do
  status="$(curl -s "$base/api/v1/modserv/$service")"
  state="$(sed -nE 's/.*"state":"([A-Za-z]+)".*/\1/p' <<<"$status" | head -n 1)"
  [ "$state" = Running ] || [ "$state" = Failed ] && break
  sleep 0.4
done
endpoint="$(sed -nE 's/.*"endpoint":"([^"]+)".*/\1/p' <<<"$status")"
[ "$state" = Running ] && ok "service Running at $endpoint" || { fail "service state $state" "$status"; finish; }
completion="$(curl -s "${endpoint%/}/v1/completions" -H 'Content-Type: application/json' \
  -d '{"model": "sample", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}')"
grep -q '"completion_tokens":8' <<<"$completion" && ok "a completion from the runtime" || fail "completion" "$completion"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$base/api/v1/modserv/$service")" = 200 ] && ok "undeploy" || fail "undeploy"

# A plugin on the single file's (trimmed) framework: the Docker shimlet, as built by the solution build.
docker_plugin="$repo/plugins/ModelServeShim.Shimlets.Docker/bin/Release/net10.0"
if [ -f "$docker_plugin/ModelServeShim.Shimlets.Docker.dll" ]; then
  mkdir -p "$work/data/plugins-bin/ModelServeShim.Shimlets.Docker"
  cp "$docker_plugin"/* "$work/data/plugins-bin/ModelServeShim.Shimlets.Docker/"
  loaded="$(curl -s -X POST "$base/api/v1/plugins/load" -H 'Content-Type: application/json' -d '{"name": "ModelServeShim.Shimlets.Docker"}')"
  grep -q '"shimlets":\["docker"\]' <<<"$loaded" && ok "the Docker shimlet plugin loads" || fail "plugin load" "$loaded"
else
  fail "plugin load" "no build of plugins/ModelServeShim.Shimlets.Docker (dotnet build ModelServeShim.sln first)"
fi
kill "$server_pid"; wait "$server_pid" 2>/dev/null; server_pid=""

# The container image on the local dockerd: host network, bound to 127.0.0.1 only.
cd "$repo"
if ! docker info >/dev/null 2>&1; then
  fail "container: no dockerd (bash scripts/install-test-deps.sh starts one)"
elif ! image="$(bash scripts/build-image.sh 2>"$work/image.log" | tail -n 1)" || [ -z "$image" ]; then
  fail "container image" "$(tail -n 10 "$work/image.log")"
else
  ok "container image $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
  port="$(free_port)"
  container="$(docker run -d --network host "$image" --listen=127.0.0.1 --port="$port")"
  if wait_healthz "$port" 30; then ok "container answers /healthz 200"; else fail "container /healthz" "$(docker logs "$container" 2>&1 | tail -n 10)"; fi
  docker rm -f "$container" >/dev/null 2>&1; container=""
fi
finish
