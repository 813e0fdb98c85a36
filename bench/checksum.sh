#!/usr/bin/env bash
# Checksum throughput: the checksum-verification step's code (ModelServeShim.Models.Integrity.ChecksumVerifier, run by
# bench/ModelServeShim.Bench `checksum`) against coreutils' sha256sum, in one run, on the same bytes:
#   1. one 4 GiB file of random data (written, not a hole), on one core (taskset -c 0) and unpinned;
#   2. the same bytes as <shards> files (a sharded model), on one core and on all cores (sha256sum per file with
#      xargs -P <cores>; ours with one file per processor).
# openssl dgst (libcrypto, which .NET's SHA-256 also uses on Linux) is printed as a second reference when installed.
# The files are read from the page cache (written just before, and read once to warm it), so this measures hashing,
# not the disk. Prints the load average before and after (the machine may be shared). Deletes the files at the end.
# usage: bash bench/checksum.sh [dir=/tmp] [size_gib=4] [shards=4]
set -euo pipefail
dir=${1:-/tmp}
size_gib=${2:-4}
shards=${3:-4}
cores=$(nproc)
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "$dir/mss-checksum-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

dotnet build "$root/bench/ModelServeShim.Bench" -c Release -v q -nologo >/dev/null
bench="$root/bench/ModelServeShim.Bench/bin/Release/net10.0/ModelServeShim.Bench"

now() { date +%s.%N; }
mbps() { python3 -c "import sys; b, s = int(sys.argv[1]), float(sys.argv[2]); print(f'{b / 1e6 / s:.1f} MB/s ({s:.2f} s)')" "$1" "$2"; }
ours() { # ours <manifest> <parallelism> [taskset cpu list]
  local line
  if [ -n "${3:-}" ]; then line=$(taskset -c "$3" "$bench" checksum "$1" "$2"); else line=$("$bench" checksum "$1" "$2"); fi
  case "$line" in *match=True*) ;; *) echo "our digest differs from sha256sum's: $line" >&2; exit 1 ;; esac
  local bytes=${line#*bytes=}; bytes=${bytes%% *}
  local secs=${line#*seconds=}; secs=${secs%% *}
  mbps "$bytes" "$secs"
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs), $cores core(s); sha_ni: $(grep -qw sha_ni /proc/cpuinfo && echo yes || echo no)"
echo "sha256sum: $(sha256sum --version | head -1); openssl: $(openssl version 2>/dev/null || echo none); dotnet: $(dotnet --version)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

bytes=$((size_gib * 1024 * 1024 * 1024))
big="$work/model.gguf"
head -c "$bytes" /dev/urandom > "$big"
cat "$big" > /dev/null

echo "== one ${size_gib} GiB file =="
t0=$(now); (cd "$work" && taskset -c 0 sha256sum model.gguf > SHA256SUMS); t1=$(now)
echo "sha256sum, 1 core:        $(mbps "$bytes" "$(python3 -c "print($t1 - $t0)")")"
if command -v openssl >/dev/null; then
  t0=$(now); taskset -c 0 openssl dgst -sha256 "$big" > /dev/null; t1=$(now)
  echo "openssl dgst, 1 core:     $(mbps "$bytes" "$(python3 -c "print($t1 - $t0)")")"
fi
echo "ours, 1 core:             $(ours "$work/SHA256SUMS" 1 0)"
echo "ours, unpinned:           $(ours "$work/SHA256SUMS" "$cores")"

echo "== the same bytes as $shards shards =="
mkdir "$work/sharded"
(cd "$work/sharded" && split -n "$shards" -d -a 5 --additional-suffix=.safetensors "$big" model-)
rm "$big"
cat "$work"/sharded/* > /dev/null
t0=$(now); (cd "$work/sharded" && taskset -c 0 sha256sum model-* > SHA256SUMS); t1=$(now)
echo "sha256sum, 1 core:        $(mbps "$bytes" "$(python3 -c "print($t1 - $t0)")")"
t0=$(now); (cd "$work/sharded" && ls model-* | xargs -P "$cores" -n 1 sha256sum > /dev/null); t1=$(now)
echo "sha256sum, $cores cores (xargs -P): $(mbps "$bytes" "$(python3 -c "print($t1 - $t0)")")"
echo "ours, 1 core:             $(ours "$work/sharded/SHA256SUMS" 1 0)"
echo "ours, $cores cores:              $(ours "$work/sharded/SHA256SUMS" "$cores")"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
