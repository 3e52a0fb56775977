#!/usr/bin/env bash
# Where a submission's CPU goes, machine-wide: each party's CPU milliseconds per job (the service, the
# controller, slurmdbd, MariaDB, munged, the load generator), for hpcbridge under wrk and for raw libslurm
# processes. The benchmark harness gives throughput per contender; this gives the split behind it.
# Run as root on the dev cluster (`make cluster`), after `swift build -c release` of both products.
#
#   submission-cpu.sh service [SECONDS] [CONNECTIONS] wrk POSTs the GATK example to hpcbridge serve
#   submission-cpu.sh raw [JOBS_PER_WORKER] [WORKERS]  raw libslurm workers (hpcbridge-bench's), at once
#   submission-cpu.sh switches [SECONDS]               the service's context switches per request, by thread
#   submission-cpu.sh perf [SECONDS]                   perf record -g of the service under the same load
#
# Jobs go to the DOWN partition hpcbridge_bench (created if missing) and are cancelled after each run. The
# controller's cost per job grows with the jobs it holds (cancelled ones stay MinJobAge seconds), so each
# run first waits until the controller has purged those of the run before. BIN (default .build/release/hpcbridge) and
# WORK (default /tmp/hpcbridge-profile) can be set in the environment.
set -euo pipefail
repository="$(cd "$(dirname "$0")/../.." && pwd)"
here="$repository/Benchmarks/profile"
BIN="${BIN:-$repository/.build/release/hpcbridge}"
WORK="${WORK:-/tmp/hpcbridge-profile}"
port=18080
# The service is found by its binary's name (the first 15 characters, as /proc keeps them).
parties=("$(basename "$BIN")" slurmctld slurmdbd mariadbd munged)

site() {
  mkdir -p "$WORK"
  scontrol show partition hpcbridge_bench > /dev/null 2>&1 ||
    scontrol create PartitionName=hpcbridge_bench Nodes=ALL MaxTime=INFINITE State=DOWN Default=NO
  python3 - "$repository" "$WORK" "$port" <<'PY'
import json, os, sys, yaml
repository, work, port = sys.argv[1], sys.argv[2], sys.argv[3]
config = yaml.safe_load(open(repository + '/config/hpcbridge.yaml'))
config.update({'listen': f'127.0.0.1:{port}', 'store': work + '/store/hpcbridge.sqlite',
               'catalogs': repository + '/config/pipelines', 'templates': repository + '/templates',
               'clusters': {'dev': {'scheduler': 'slurm', 'mode': 'library', 'reconcile_interval_seconds': 5}}})
config['research_groups'] = {'bench_lab': {
    'description': 'profiling (partition hpcbridge_bench is DOWN: jobs queue and never run)', 'cluster': 'dev',
    'account': 'cancer_genomics_lab', 'partition': 'hpcbridge_bench', 'run_root': work + '/runs',
    'input_roots': ['/data/bench_lab'], 'allowed_pipelines': ['gatk_variant_calling'],
    'quotas': {'max_active_jobs': 10000000, 'submissions_per_minute': 10000000}}}
yaml.safe_dump(config, open(work + '/hpcbridge.yaml', 'w'))
request = json.load(open(repository + '/config/examples/gatk_variant_calling.json'))
for key in ('fastq_r1', 'fastq_r2'):
    request['parameters'][key] = '/data/bench_lab/' + os.path.basename(request['parameters'][key])
request.update({'research_group': 'bench_lab', 'resources': {'cpus': 1, 'memory': '1G', 'time_limit': '00:10:00'}})
json.dump(request, open(work + '/body.json', 'w'), sort_keys=True)
PY
  cat > "$WORK/post.lua" <<LUA
wrk.method = "POST"
local f = io.open("$WORK/body.json"); wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
LUA
}

# Waits (up to 3 minutes) until the controller has purged the jobs of earlier runs: cancelled jobs stay
# MinJobAge seconds and are purged in batches, and while thousands are held both the controller's cost per
# submission and the service's reconcile cycles (which read every job of the cluster) grow with them.
settle() {
  for _ in $(seq 180); do [ "$(squeue -h -t all | wc -l)" -lt 20 ] && return; sleep 1; done
  echo "warning: $(squeue -h -t all | wc -l) jobs still held by the controller" >&2
}

# Starts the service on a new store. Earlier runs' directories are moved aside, not deleted: ext4's inode
# allocator skips recently freed inodes, and after deleting 5,000 run directories mkdir cost twice as much.
start_service() {
  command -v wrk > /dev/null || apt-get install -y wrk > /dev/null
  site
  settle
  rm -rf "$WORK/store"; [ -d "$WORK/runs" ] && mv "$WORK/runs" "$WORK/runs-$(date +%s%N)"; mkdir -p "$WORK/store" "$WORK/runs"
  TOKEN=$("$BIN" token create --group bench_lab --label profile --config "$WORK/hpcbridge.yaml" 2> /dev/null | tr -d '\n'); export TOKEN
  "$BIN" serve --config "$WORK/hpcbridge.yaml" > "$WORK/serve.log" 2>&1 & service_pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" > /dev/null && return; sleep 0.1; done
  echo "the service did not come up; see $WORK/serve.log" >&2; exit 1
}

stop_service() { kill -TERM "$service_pid"; wait "$service_pid" || true; scancel -p hpcbridge_bench || true; }

# wrk for SECONDS with CONNECTIONS; its own CPU (as a child) in ticks goes to $WORK/wrk-cpu.
load() {
  "$here/proc-stat.py" run 1 "$WORK/wrk.txt" wrk -t2 "-c$2" "-d$1s" -s "$WORK/post.lua" "http://127.0.0.1:$port/v1/jobs" > "$WORK/wrk-cpu"
  requests=$(grep -oE '^ +[0-9]+ requests' "$WORK/wrk.txt" | grep -oE '[0-9]+')
}

# Prints each party's CPU ms per job from two proc-stat.py snapshots (ticks are 10 ms).
per_job() {
  paste "$1" "$2" | awk -v n="$3" '{ printf "%s %.2f  ", $1, ($4 - $2) * 10 / n }'
}

case "${1:-}" in
  service)
    start_service
    "$here/proc-stat.py" cpu "${parties[@]}" > "$WORK/before"
    load "${2:-10}" "${3:-8}"
    "$here/proc-stat.py" cpu "${parties[@]}" > "$WORK/after"
    stop_service
    echo "$(grep Requests/sec "$WORK/wrk.txt" | tr -s ' ') ($requests requests, $(grep -c Non-2xx "$WORK/wrk.txt" || true) lines of non-2xx)"
    echo "CPU ms per job: $(per_job "$WORK/before" "$WORK/after" "$requests")wrk $(awk -v n="$requests" '{ printf "%.2f", $1 * 10 / n }' "$WORK/wrk-cpu")"
    ;;
  raw)
    site
    settle
    jobs=${2:-1000} workers=${3:-4}
    "$here/proc-stat.py" cpu slurmctld slurmdbd mariadbd munged > "$WORK/before"
    start=$(date +%s.%N)
    "$here/proc-stat.py" run "$workers" "$WORK/workers.txt" \
      "$repository/.build/release/hpcbridge-bench" --raw-submit-worker "$jobs" --account cancer_genomics_lab > "$WORK/workers-cpu"
    end=$(date +%s.%N)
    "$here/proc-stat.py" cpu slurmctld slurmdbd mariadbd munged > "$WORK/after"
    scancel -p hpcbridge_bench || true
    total=$((jobs * workers))
    echo "$total jobs in $(echo "$end - $start" | bc) s: $(echo "$total / ($end - $start)" | bc) jobs/s"
    echo "CPU ms per job: $(per_job "$WORK/before" "$WORK/after" "$total")workers $(awk -v n="$total" '{ printf "%.2f", $1 * 10 / n }' "$WORK/workers-cpu")"
    ;;
  switches)
    start_service
    "$here/proc-stat.py" switches "$service_pid" > "$WORK/before"
    load "${2:-8}" 8
    "$here/proc-stat.py" switches "$service_pid" > "$WORK/after"
    stop_service
    grep Requests/sec "$WORK/wrk.txt"
    join -a2 -e0 -o 0,1.2,2.2 "$WORK/before" "$WORK/after" |
      awk -v n="$requests" '{ d = $3 - $2; if (d > 0) printf "%-28s %.2f per request\n", $1, d / n; t += d } END { printf "all threads %.2f per request\n", t / n }'
    ;;
  perf)
    start_service
    seconds=${2:-8}
    wrk -t2 -c8 "-d$((seconds + 2))s" -s "$WORK/post.lua" "http://127.0.0.1:$port/v1/jobs" > "$WORK/wrk.txt" 2>&1 &
    sleep 1
    perf record -F 2000 -g -p "$service_pid" -o "$WORK/perf.data" -- sleep "$seconds" > /dev/null 2>&1
    wait %2 || true
    stop_service
    grep Requests/sec "$WORK/wrk.txt"
    echo "perf report -i $WORK/perf.data --children --sort sym"
    ;;
  *)
    sed -n '2,16p' "$0"; exit 2 ;;
esac
