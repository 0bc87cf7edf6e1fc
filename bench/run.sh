#!/usr/bin/env bash
# The scan benchmark: how `trailwatch scan` of one large gzipped CloudTrail
# object compares with `gzip -dc` of the same file.
#
# Builds the release binary (in target-bench/, apart from the debug builds),
# builds the benchmark object and a file of 1,000 extra rules with
# bench/generate.py (cached until the generator or its records change), then
# runs, alternately for ROUNDS rounds:
#   gzip -dc OBJECT > /dev/null
#   trailwatch scan --rules UPSTREAM OBJECT > /dev/null
#   trailwatch scan --rules UPSTREAM --rules EXTRA OBJECT > /dev/null
# and prints the median wall time, records/s, MB/s (decompressed), the ratio
# to gzip and the peak RSS of each.
#
# Environment: ROUNDS (default 5), RECORDS (default 400000), UPSTREAM_RULES
# (default ../shared/compat/falco/aws_cloudtrail_rules.yaml beside the
# checkout).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-5}
records=${RECORDS:-400000}
upstream=${UPSTREAM_RULES:-$root/../shared/compat/falco/aws_cloudtrail_rules.yaml}
target=$root/target-bench
data=$target/data
object=$data/cloudtrail-$records.json.gz
extra=$data/extra-rules.yaml
binary=$target/release/trailwatch

if [[ ! -x /usr/bin/time ]]; then
    echo "installing GNU time for peak RSS" >&2
    apt-get install -y time >/dev/null
fi

echo "building the release binary" >&2
CARGO_TARGET_DIR=$target cargo build --release --quiet -p trailwatch --manifest-path "$root/Cargo.toml"

mkdir -p "$data"
inputs=("$root/bench/generate.py" "$root"/bench/records/* "$root"/samples/*.json*)
stale() {
    local out=$1 input
    [[ -e $out ]] || return 0
    for input in "${inputs[@]}"; do
        [[ $input -nt $out ]] && return 0
    done
    return 1
}
if stale "$object"; then
    python3 "$root/bench/generate.py" object "$object" --records "$records" >&2
fi
if stale "$extra"; then
    python3 "$root/bench/generate.py" rules "$extra" --count 1000 >&2
fi
plain_bytes=$(gzip -dc "$object" | wc -c)

# Runs one command under GNU time; appends "wall_s rss_kib" to the file $1.
measure() {
    local out=$1 log
    shift
    log=$(mktemp)
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -v -o "$log.time" "$@" >/dev/null 2>"$log"
    end=$(date +%s.%N)
    if grep -q "records" "$log"; then
        # The scan's summary line names the records it read.
        grep -o "[0-9]* records" "$log" | head -1 | cut -d' ' -f1 >"$out.records"
    fi
    local rss
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log.time")
    echo "$(echo "$end - $start" | bc) $rss" >>"$out"
    rm -f "$log" "$log.time"
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for ((round = 1; round <= rounds; round++)); do
    echo "round $round of $rounds" >&2
    measure "$work/gzip" gzip -dc "$object"
    measure "$work/scan" "$binary" scan --rules "$upstream" "$object"
    measure "$work/extra" "$binary" scan --rules "$upstream" --rules "$extra" "$object"
done

for run in scan extra; do
    seen=$(cat "$work/$run.records" 2>/dev/null || echo 0)
    if [[ $seen != "$records" ]]; then
        echo "error: $run read $seen records, expected $records" >&2
        exit 1
    fi
done

python3 - "$work" "$records" "$plain_bytes" "$(stat -c %s "$object")" "$object" "$rounds" <<'EOF'
import datetime
import os
import statistics
import sys

work, records, plain, packed, path, rounds = sys.argv[1:]
records, plain, packed = int(records), int(plain), int(packed)


def load(name):
    rows = [line.split() for line in open(os.path.join(work, name))]
    return statistics.median(float(r[0]) for r in rows), max(int(r[1]) for r in rows)


runs = {
    "gzip -dc": load("gzip"),
    "scan, default + upstream rules": load("scan"),
    "scan, + 1,000 extra rules": load("extra"),
}
cpu = next(
    (l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
    "unknown CPU",
)
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"trailwatch scan benchmark, {now}, {os.cpu_count()} cores ({cpu})")
print(f"object: {os.path.basename(path)}: {records} records, "
      f"{plain / 1e6:.1f} MB plain, {packed / 1e6:.1f} MB gzipped")
print(f"median of {rounds} rounds, run alternately; peak RSS is the largest seen")
print()
gzip_s = runs["gzip -dc"][0]
print(f"{'':32} {'wall s':>7} {'records/s':>10} {'MB/s':>7} {'x gzip':>7} {'peak RSS':>10}")
for name, (wall, rss) in runs.items():
    print(f"{name:32} {wall:7.2f} {records / wall:10.0f} {plain / 1e6 / wall:7.1f} "
          f"{wall / gzip_s:7.2f} {rss / 1024:6.1f} MiB")
base, extra = runs["scan, default + upstream rules"][0], runs["scan, + 1,000 extra rules"][0]
print()
print(f"1,000 extra rules add {100 * (extra / base - 1):.0f}% to the scan")
EOF
