#!/usr/bin/env bash
# Time from POST /deploy to state Running with the local shimlet and the embedded llama.cpp runtime, for a running
# server (bash scripts/run.sh with Models__Roots__0=<dir holding the model>). Undeploys after each run.
# usage: bash bench/local-deploy.sh <server url> <model.gguf> [runs=5] [pipeline=opensourcellm] [quantization type]
set -euo pipefail
url=$1 model=$2 runs=${3:-5} pipeline=${4:-opensourcellm} qtype=${5:-}
quant=""; [ -n "$qtype" ] && quant=", \"quantization\": {\"type\": \"$qtype\"}"
for run in $(seq "$runs"); do
  start=$(date +%s%N)
  id=$(curl -sf -X POST "$url/api/v1/modserv/deploy" -H 'Content-Type: application/json' -d "{\"modelName\": \"bench-$run\",
    \"modelFile\": \"$model\", \"pipeline\": \"$pipeline\"$quant, \"shimlet\": \"local\",
    \"resourceRequirements\": {\"acceleratorCount\": 0, \"cpu\": \"2\", \"memory\": \"4Gi\"}}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["serviceId"])')
  while :; do
    state=$(curl -sf "$url/api/v1/modserv/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["service"]["state"])')
    [ "$state" = Running ] && break
    [ "$state" = Failed ] && { echo "run $run: Failed" >&2; exit 1; }
    sleep 0.05
  done
  echo "run $run: $pipeline Running after $(( ($(date +%s%N) - start) / 1000000 )) ms"
  curl -sf -X DELETE "$url/api/v1/modserv/$id" > /dev/null
  while [ "$(curl -sf "$url/api/v1/modserv/$id" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["service"]["state"])')" != Stopped ]; do sleep 0.1; done
done
