#!/usr/bin/env bash
# Measures the one-binary distribution against the framework-dependent build, in the same run (issue #10 targets):
# size on disk, cold start to /healthz 200 with a fresh and with an existing data dir (median of RUNS, default 10),
# and RSS after start. Uses dist/linux-x64/model-serve-shim (scripts/publish.sh first when it is missing) and a
# framework-dependent `dotnet publish` of the host into a temp folder.
# Usage: bash bench/one-binary.sh            prints a Markdown table
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${RUNS:-10}"
[ -x dist/linux-x64/model-serve-shim ] || bash scripts/publish.sh linux-x64 >/dev/null
work="$(mktemp -d -t mss-bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
dotnet publish src/ModelServeShim -c Release -p:SkipDesignerBuild=true -nologo -v quiet -o "$work/fdd" >/dev/null
mkdir -p "$work/single" && cp dist/linux-x64/model-serve-shim "$work/single/"
export DOTNET_BUNDLE_EXTRACT_BASE_DIR="$work/extract"

# One start: launches <binary> in an empty working dir with <data dir>, polls /healthz every 2 ms, prints
# "<ms to first 200> <VmRSS kB 1 s after>", then stops it.
measure() {
  python3 - "$@" <<'PY'
import http.client, os, signal, socket, subprocess, sys, time
binary, data, cwd = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
start = time.perf_counter()
p = subprocess.Popen([binary, f"--port={port}", "--listen=127.0.0.1", f"--data-dir={data}"], cwd=cwd,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
ms = None
while time.perf_counter() - start < 30:
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=1); c.request("GET", "/healthz")
        if c.getresponse().status == 200:
            ms = (time.perf_counter() - start) * 1000; break
    except OSError:
        time.sleep(0.002)
time.sleep(1)
rss = next((l.split()[1] for l in open(f"/proc/{p.pid}/status") if l.startswith("VmRSS:")), "0")
p.send_signal(signal.SIGTERM); p.wait(10)
print(f"{ms:.0f} {rss}" if ms is not None else "timeout 0")
PY
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : int((a[NR/2] + a[NR/2+1]) / 2)}'; }

row() { # <label> <binary>
  local label="$1" binary="$2" fresh=() existing=() rss=() i
  mkdir -p "$work/cwd" && measure "$binary" "$work/warm-$label" "$work/cwd" >/dev/null # first start: extraction, disk cache
  for i in $(seq 1 "$runs"); do
    read -r ms kb < <(measure "$binary" "$work/fresh-$label-$i" "$work/cwd"); fresh+=("$ms")
    read -r ms kb < <(measure "$binary" "$work/warm-$label" "$work/cwd"); existing+=("$ms"); rss+=("$kb")
  done
  printf '| %s | %s | %s | %s | %s |\n' "$label" "$3" \
    "$(printf '%s\n' "${fresh[@]}" | median) ms" "$(printf '%s\n' "${existing[@]}" | median) ms" \
    "$(( $(printf '%s\n' "${rss[@]}" | median) / 1024 )) MB"
}

fdd_size="$(du -sb "$work/fdd" | cut -f1)"; fdd_files="$(find "$work/fdd" -type f | wc -l)"
single_size="$(stat -c %s "$work/single/model-serve-shim")"
echo "| Build | Size | Cold start, fresh data dir (median of $runs) | Cold start, existing data dir | RSS after start |"
echo "|---|---|---|---|---|"
row "framework-dependent (dotnet publish)" "$work/fdd/model-serve-shim" "$((fdd_size / 1048576)) MB in $fdd_files files"
row "single file (scripts/publish.sh linux-x64)" "$work/single/model-serve-shim" "$((single_size / 1048576)) MB ($single_size bytes)"
echo
echo "llama runtime: dist/linux-x64/model-serve-shim-llama $(( $(stat -c %s dist/linux-x64/model-serve-shim-llama) / 1048576 )) MB"
echo "framework-dependent build, build/design-time assemblies: $(find "$work/fdd" -name 'Microsoft.CodeAnalysis*' -o -name 'Microsoft.EntityFrameworkCore.Design*' -o -name 'Microsoft.Build*' -o -name 'Mono.TextTemplating*' | wc -l) files"
echo "measured $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
