#!/usr/bin/env bash
# Runs trailwatch end to end on a laptop, against moto instead of AWS:
#
#   1. a Python venv (.venv at the repository root) with moto and boto3,
#   2. moto_server on 127.0.0.1 (a free port),
#   3. bucket -> SNS topic -> SQS queue (+ dead-letter queue) wiring,
#   4. every samples/*.json.gz (and plain *.json) uploaded as a CloudTrail
#      log object,
#   5. trailwatch (release build) consuming the queue until it is empty,
#   6. the alerts and some metrics printed, then SIGTERM and a clean exit.
#
# Usage: deploy/local/run-local.sh [extra `trailwatch run` arguments...]
# Environment:
#   SAMPLES_DIR     folder of CloudTrail log files (default: samples/)
#   TRAILWATCH_BIN  run this binary instead of building with cargo
#   DRAIN_TIMEOUT   seconds to wait for the queue to empty (default: 180)
# Nothing here reaches AWS: every client is pointed at 127.0.0.1.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$repo/deploy/local"
venv="$repo/.venv"
samples_dir=${SAMPLES_DIR:-$repo/samples}
drain_timeout=${DRAIN_TIMEOUT:-180}
moto_version=5.2.1

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run-local: error: %s\n' "$*" >&2; exit 1; }

command -v python3 >/dev/null || die "python3 is required"

shopt -s nullglob
samples=("$samples_dir"/*.json.gz "$samples_dir"/*.json)
shopt -u nullglob
[ ${#samples[@]} -gt 0 ] || die "no *.json.gz or *.json file in $samples_dir (set SAMPLES_DIR)"

# --- 1. venv ---------------------------------------------------------------
if ! "$venv/bin/python" -c "import boto3, moto, sys; sys.exit(moto.__version__ != '$moto_version')" 2>/dev/null; then
    say "installing moto[server]==$moto_version and boto3 into $venv"
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$moto_version" boto3 \
        || die "pip install failed (is PyPI reachable?)"
fi
py="$venv/bin/python"

free_port() {
    "$py" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

http_get() {
    "$py" - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
        sys.stdout.write(response.read().decode())
except Exception:
    sys.exit(1)
EOF
}

# --- build first, so that moto is not left waiting on the compiler ----------
if [ -n "${TRAILWATCH_BIN:-}" ]; then
    [ -x "$TRAILWATCH_BIN" ] || die "TRAILWATCH_BIN=$TRAILWATCH_BIN is not executable"
    daemon=("$TRAILWATCH_BIN")
else
    command -v cargo >/dev/null || die "cargo is required (or set TRAILWATCH_BIN)"
    say "building trailwatch (release)"
    (cd "$repo" && cargo build --release --locked -p trailwatch) || die "cargo build failed"
    # `cargo run` replaces itself with the binary on Unix, so the SIGTERM
    # below reaches trailwatch directly.
    daemon=(cargo run --quiet --release --locked -p trailwatch --)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/trailwatch-local.XXXXXX")
moto_pid=""
daemon_pid=""
cleanup() {
    local status=$?
    if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    if [ -n "$moto_pid" ]; then
        kill "$moto_pid" 2>/dev/null || true
        wait "$moto_pid" 2>/dev/null || true
    fi
    if [ "$status" -ne 0 ] && [ -s "$work/trailwatch.log" ]; then
        printf '\n--- last lines of the trailwatch log ---\n' >&2
        tail -n 30 "$work/trailwatch.log" >&2
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- 2. moto ---------------------------------------------------------------
moto_port=$(free_port)
endpoint="http://127.0.0.1:$moto_port"
say "starting moto_server on $endpoint"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
moto_pid=$!
for _ in $(seq 50); do
    http_get "$endpoint/moto-api/" >/dev/null && break
    kill -0 "$moto_pid" 2>/dev/null || die "moto_server exited: $(tail -n 5 "$work/moto.log")"
    sleep 0.2
done
http_get "$endpoint/moto-api/" >/dev/null || die "moto_server did not answer on $endpoint"

# --- 3. and 4. wiring and samples ------------------------------------------
wire() { "$py" "$here/wire_aws.py" --endpoint "$endpoint" "$@"; }
urls=$(wire setup) || die "could not create the bucket/topic/queues on moto"
queue_url=$(sed -n 1p <<<"$urls")
dlq_url=$(sed -n 2p <<<"$urls")
say "queue $queue_url"
say "uploading ${#samples[@]} sample log(s) from $samples_dir"
wire upload "${samples[@]}"

# --- 5. trailwatch ---------------------------------------------------------
export AWS_ENDPOINT_URL="$endpoint"
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export TRAILWATCH_DEAD_LETTER_QUEUE_URL="$dlq_url"
metrics_port=$(free_port)
alerts="$work/alerts.jsonl"
say "starting trailwatch (metrics on 127.0.0.1:$metrics_port)"
(cd "$repo" && exec "${daemon[@]}" run \
    --queue-url "$queue_url" \
    --metrics-addr "127.0.0.1:$metrics_port" \
    --sink "file:$alerts" \
    --log-format text \
    "$@") >"$work/trailwatch.log" 2>&1 &
daemon_pid=$!

for _ in $(seq 60); do
    http_get "http://127.0.0.1:$metrics_port/readyz" >/dev/null && break
    kill -0 "$daemon_pid" 2>/dev/null || die "trailwatch exited during start-up"
    sleep 0.5
done
http_get "http://127.0.0.1:$metrics_port/readyz" >/dev/null || die "trailwatch not ready after 30 s"

say "waiting up to ${drain_timeout}s for the queue to empty"
wire wait-empty --timeout "$drain_timeout" || die "the queue did not empty"

# --- 6. results ------------------------------------------------------------
count=0
[ -f "$alerts" ] && count=$(wc -l <"$alerts")
printf '\n--- %s alert(s) ---\n' "$count"
[ -f "$alerts" ] && cat "$alerts"
printf '\n--- metrics (excerpt) ---\n'
http_get "http://127.0.0.1:$metrics_port/metrics" \
    | grep -E '^trailwatch_(sqs_messages|s3_objects|records_evaluated|alerts|sink_sends|rules_loaded)' \
    | head -n 25 || true

say "stopping trailwatch (SIGTERM)"
kill -TERM "$daemon_pid"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=""
[ "$status" -eq 0 ] || die "trailwatch exited with status $status after SIGTERM"
say "done"
