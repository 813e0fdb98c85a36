#!/usr/bin/env bash
# Installs what the test suites need that a fresh machine lacks. Idempotent, safe to re-run.
# - the .NET 10 SDK must be on PATH (NuGet packages restore during the build);
# - the Docker shimlet's tests need a running dockerd and a local image, modelserveshim/busybox:test,
#   built here from busybox-static without any registry (docs/shimlets/docker.md);
# - the one-binary tests (scripts/test-dist.sh) build the control plane's image from a debootstrap rootfs (debootstrap);
# - the web UI's tests need Node.js 20+ and npm, the designer's npm packages (npm ci), and Debian's
#   Chromium at /usr/bin/chromium for the browser tests (Playwright drives it; no browser is downloaded);
# - the Elsa Studio browser tests need the Elsa Studio add-on (scripts/install-elsa-studio.sh, from npm).
# - the PostgreSQL variants of the runtime and control-plane tests need Debian's PostgreSQL server binaries (initdb,
#   pg_ctl under /usr/lib/postgresql/<version>/bin): each test process starts its own throw-away cluster on a loopback
#   port as the postgres user (tests/ModelServeShim.Testing.Postgres), never the system service, which is left stopped.
set -euo pipefail
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (dotnet not on PATH)"; exit 1; }
dotnet --version >/dev/null
command -v npm >/dev/null || { echo "Node.js 20+ and npm are required to build and test the web UI (npm not on PATH)"; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
  || { echo "Node.js 20 or newer is required (found $(node --version))"; exit 1; }

test_image="modelserveshim/busybox:test"
sudo_cmd=""
if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi

# 1. docker.io, busybox-static and chromium, with one apt-get update, only when something is missing.
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v docker >/dev/null || missing+=(docker.io)
# The image needs the static build (no libc in its rootfs); the dynamic "busybox" package would not do.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || missing+=(busybox-static)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v debootstrap >/dev/null || missing+=(debootstrap)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "installing ${missing[*]}"
  apt_log="$(mktemp -t mss-apt.XXXXXX.log)"
  { $sudo_cmd apt-get update -qq \
      && $sudo_cmd env DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l apt-get install -y -qq "${missing[@]}"; } >"$apt_log" 2>&1 \
    || { echo "apt-get failed; last lines of $apt_log:"; tail -n 20 "$apt_log"; exit 1; }
fi

# 1b. The package's own cluster service is not what the tests use: keep it from holding port 5432 and memory.
if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null; then
  pg_lsclusters -h 2>/dev/null | while read -r version name _; do $sudo_cmd pg_ctlcluster "$version" "$name" stop 2>/dev/null || true; done
fi

# 2. dockerd: started in the background when nothing answers (no bridge, no iptables: the tests use the host network).
if ! docker info >/dev/null 2>&1; then
  dockerd_log="$(mktemp -t mss-dockerd.XXXXXX.log)"
  echo "starting dockerd (log: $dockerd_log)"
  $sudo_cmd nohup dockerd --bridge=none --iptables=false --ip-masq=false >"$dockerd_log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { echo "dockerd did not answer within 60 s; last log lines:"; tail -n 20 "$dockerd_log"; exit 1; }
fi

# 3. The test image, imported from a rootfs tar: /bin/busybox (static) with sh/httpd links and /www/health.
if ! docker image inspect "$test_image" >/dev/null 2>&1; then
  rootfs="$(mktemp -d)"
  trap 'rm -rf "$rootfs"' EXIT
  mkdir -p "$rootfs/bin" "$rootfs/www" "$rootfs/tmp"
  cp /bin/busybox "$rootfs/bin/busybox"
  for applet in sh httpd false true sleep echo cat; do ln -s busybox "$rootfs/bin/$applet"; done
  echo ok >"$rootfs/www/health"
  tar -C "$rootfs" -c . | docker import - "$test_image" >/dev/null
  echo "built $test_image"
fi

# 4. The designer's npm packages, exactly as locked (skipped when node_modules matches the lock file).
# Playwright must never download a browser: the tests use /usr/bin/chromium.
designer_dir="$(cd "$(dirname "$0")/.." && pwd)/designer"
if [ ! -f "$designer_dir/node_modules/.package-lock.json" ] || [ "$designer_dir/package-lock.json" -nt "$designer_dir/node_modules/.package-lock.json" ]; then
  echo "installing the designer's npm packages"
  (cd "$designer_dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) \
    || { echo "npm ci failed in $designer_dir"; exit 1; }
fi

# 5. The gateway's OpenAI-client tests (tests/gateway-openai): the official openai npm package, as locked.
openai_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/gateway-openai"
if [ ! -f "$openai_dir/node_modules/.package-lock.json" ] || [ "$openai_dir/package-lock.json" -nt "$openai_dir/node_modules/.package-lock.json" ]; then
  echo "installing the gateway tests' npm packages"
  (cd "$openai_dir" && npm ci --no-audit --no-fund --loglevel=error) \
    || { echo "npm ci failed in $openai_dir"; exit 1; }
fi

# 6. Elsa Studio, the optional designer add-on the Elsa Studio browser tests open (artifacts/elsa-studio).
bash "$(cd "$(dirname "$0")" && pwd)/install-elsa-studio.sh" \
  || { echo "installing Elsa Studio failed"; exit 1; }
