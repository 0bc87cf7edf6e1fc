#!/usr/bin/env bash
# Peak memory of the daemon on one large object, end to end: moto_server on
# 127.0.0.1 stands in for S3, SNS and SQS; the benchmark object (about
# 500 MB of records once decompressed) is uploaded; a release build of
# `trailwatch run` consumes the notification, streams the object through
# gunzip and the record splitter, evaluates every record and delivers the
# alerts to a file; the script then reads the process's peak resident set
# (VmHWM) before stopping it with SIGTERM.
#
#   bench/daemon_memory.sh [RECORDS]      (default 400000)
#
# Prints the object sizes, the records evaluated and the peak RSS, and exits
# non-zero if the peak exceeds LIMIT_MIB (default 128). Timing is printed
# for information only.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
records=${1:-400000}
limit_mib=${LIMIT_MIB:-128}
target=${CARGO_TARGET_DIR:-$root/target-bench}
work="$target/data"
# The same object bench/run.sh builds and caches.
object="$work/cloudtrail-$records.json.gz"
mkdir -p "$work"

say() { printf '==> %s\n' "$*"; }

if [ ! -x .venv/bin/moto_server ] || ! .venv/bin/python -c 'import boto3' 2>/dev/null; then
    say "installing moto[server] and boto3 into .venv"
    python3 -m venv .venv
    .venv/bin/pip install --quiet --disable-pip-version-check "moto[server]==5.2.1" boto3
fi
if [ ! -f "$object" ]; then
    say "generating $records records into $object"
    python3 bench/generate.py object "$object" --records "$records"
fi
say "building the release binary"
CARGO_TARGET_DIR="$target" cargo build --quiet --release --locked -p trailwatch
binary="$target/release/trailwatch"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
metrics_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
endpoint="http://127.0.0.1:$port"
.venv/bin/moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
moto_pid=$!
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    kill "$moto_pid" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do
    curl -fs "$endpoint/moto-api/" >/dev/null 2>&1 && break
    sleep 0.1
done

export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
wire() { .venv/bin/python deploy/local/wire_aws.py --endpoint "$endpoint" "$@"; }
queue_url=$(wire setup | head -n 1)
wire upload "$object" >/dev/null

alerts="$work/daemon-alerts.jsonl"
: >"$alerts"
started=$(date +%s.%N)
"$binary" run --queue-url "$queue_url" --metrics-addr "127.0.0.1:$metrics_port" \
    --sink "file:$alerts" --log-format text 2>"$work/daemon.log" &
daemon_pid=$!
wire wait-empty --timeout 900
finished=$(date +%s.%N)

peak_kib=$(awk '/^VmHWM:/ {print $2}' "/proc/$daemon_pid/status")
evaluated=$(curl -fs "http://127.0.0.1:$metrics_port/metrics" | awk '/^trailwatch_records_evaluated_total / {print $2}')
kill -TERM "$daemon_pid"
wait "$daemon_pid"
daemon_pid=

plain_bytes=$(gzip -dc "$object" | wc -c)
awk -v r="$records" -v z="$(stat -c %s "$object")" -v p="$plain_bytes" \
    'BEGIN { printf "object: %s records, %.1f MB gzipped, %.1f MB decompressed\n", r, z / 1e6, p / 1e6 }'
awk -v e="$evaluated" -v a="$(wc -l <"$alerts")" -v t0="$started" -v t1="$finished" \
    'BEGIN { printf "daemon: %s records evaluated, %s alerts, %.1f s wall (information only)\n", e, a, t1 - t0 }'
awk -v k="$peak_kib" -v l="$limit_mib" 'BEGIN { printf "daemon peak RSS: %.1f MiB (limit %s MiB)\n", k / 1024, l }'
[ "$peak_kib" -le $((limit_mib * 1024)) ]
