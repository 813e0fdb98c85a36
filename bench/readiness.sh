#!/usr/bin/env bash
# Readiness latency of the control plane on the local shimlet: for N deploys of a model (undeployed after each), how
# long the runtime itself takes to become ready (its process start -> first 200 on /health, probed by this script every
# 2 ms) against deploy request -> state Running (the server's own timestamps from the service's history), and the
# difference, the control plane's overhead, with its p50/p90. For a running server (bash scripts/run.sh
# --data-dir=<dir>, with Models__Roots__0=<dir holding the model>); needs python3 and Linux /proc.
# The first <warmup> deploys (a fresh server's first one JIT-compiles the pipeline path) are run but not counted.
# usage: bash bench/readiness.sh <server url> <model.gguf> <data dir of the server> [runs=10] [warmup=1]
set -euo pipefail
exec python3 - "$@" <<'PY'
import json, os, sys, time, urllib.request, urllib.error
from datetime import datetime

url, model, data_dir = sys.argv[1].rstrip('/'), sys.argv[2], sys.argv[3]
runs = int(sys.argv[4]) if len(sys.argv) > 4 else 10
warmup = int(sys.argv[5]) if len(sys.argv) > 5 else 1
services = os.path.join(data_dir, 'local-shimlet', 'services')
ticks = os.sysconf('SC_CLK_TCK')

def call(method, path, body=None):
    req = urllib.request.Request(url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)['data']

def boot_epoch():
    with open('/proc/uptime') as f:
        return time.time() - float(f.read().split()[0])

def epoch(iso):
    return datetime.fromisoformat(iso.replace('Z', '+00:00')).timestamp()

def healthy(port):
    try:
        with urllib.request.urlopen(f'http://127.0.0.1:{port}/health', timeout=1) as r:
            return r.status == 200
    except (urllib.error.URLError, ConnectionError, OSError):
        return False

def pct(values, p):
    s = sorted(values)
    k = (len(s) - 1) * p / 100
    lo = int(k)
    return s[lo] + (s[min(lo + 1, len(s) - 1)] - s[lo]) * (k - lo)

rows = []
for run in range(1 - warmup, runs + 1):
    accepted = call('POST', '/api/v1/modserv/deploy', {
        'modelName': f'ready-{run + warmup}', 'modelFile': model, 'pipeline': 'opensourcellm', 'shimlet': 'local',
        'resourceRequirements': {'acceleratorCount': 0, 'cpu': '2', 'memory': '4Gi'}})
    sid = accepted['serviceId']
    record = os.path.join(services, sid, 'service.json')
    port = pid = start_ticks = None
    deadline = time.monotonic() + 120
    while pid is None:  # the shimlet writes the record when it starts the process
        if time.monotonic() > deadline:
            sys.exit(f'run {run}: no replica record at {record}')
        try:
            with open(record) as f:
                replica = json.load(f)['replicas'][0]
            port, pid, start_ticks = replica['port'], replica['pid'], replica['startTime']
        except (FileNotFoundError, json.JSONDecodeError, IndexError, KeyError):
            time.sleep(0.002)
    while not healthy(port):
        if time.monotonic() > deadline:
            sys.exit(f'run {run}: {sid} never answered /health')
        time.sleep(0.002)
    health_at = time.time()
    process_start = boot_epoch() + start_ticks / ticks
    while True:
        detail = call('GET', f'/api/v1/modserv/{sid}')
        state = detail['service']['state']
        if state == 'Running':
            break
        if state == 'Failed' or time.monotonic() > deadline:
            sys.exit(f'run {run}: {sid} is {state}')
        time.sleep(0.05)
    history = detail['history']
    deployed_at = min(epoch(h['at']) for h in history)
    running_at = min(epoch(h['at']) for h in history if h['to'] == 'Running')
    runtime = health_at - process_start
    total = running_at - deployed_at
    if run > 0:
        rows.append((runtime, total, total - runtime, process_start - deployed_at, running_at - health_at))
    print(f'{"warm-up" if run <= 0 else f"run {run}"}: runtime ready {runtime*1000:.0f} ms, deploy -> Running {total*1000:.0f} ms, '
          f'overhead {(total-runtime)*1000:.0f} ms (deploy -> process start {(process_start-deployed_at)*1000:.0f} ms, '
          f'first /health 200 -> Running {(running_at-health_at)*1000:.0f} ms)', flush=True)
    call('DELETE', f'/api/v1/modserv/{sid}')
    while call('GET', f'/api/v1/modserv/{sid}')['service']['state'] != 'Stopped':
        time.sleep(0.1)

names = ['runtime ready', 'deploy -> Running', 'overhead', 'deploy -> process start', 'first 200 -> Running']
print(f'{runs} runs (after {warmup} warm-up), ms:  p50     p90')
for i, name in enumerate(names):
    column = [r[i] * 1000 for r in rows]
    print(f'  {name:<24} {pct(column, 50):6.0f}  {pct(column, 90):6.0f}')
PY
