#!/usr/bin/env bash
# De-identification benchmark (not a test): generates corpora of BASE MB and 4×BASE MB,
# ingests each into an encrypted store, de-identifies it five times at k = 5, and records MB/s, peak RSS
# (GNU time) and the share of patients delivered in $RESULTS; then the same share for a
# 2 000-patient export, where k-anonymity is hardest.
# Usage: scripts/bench-fhir.sh [base-megabytes=200] [work-dir=/tmp/medledger-fhir-bench]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/medledger/target}"
export SKIP_WASM_BUILD=1
BASE="${1:-200}"
WORK="${2:-/tmp/medledger-fhir-bench}"
RESULTS="${RESULTS:-client/fhir/BENCHMARK.md}"
[ -x /usr/bin/time ] || { echo "error: GNU time (/usr/bin/time) is needed — apt-get install time" >&2; exit 1; }
# FHIR_TOOL=path skips the build (e.g. while another release build holds the target lock).
TOOL="${FHIR_TOOL:-$CARGO_TARGET_DIR/release/examples/fhir_tool}"
[ -n "${FHIR_TOOL:-}" ] || cargo build --release -q -p medledger-fhir --example fhir_tool
rm -rf "$WORK" && mkdir -p "$WORK"

peak_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }
cpu_s() { awk -F': ' '/User time|System time/ { total += $2 } END { printf "%.2f", total }' "$1"; }
# MB of NDJSON per CPU second (the per-core figure, independent of other load).
per_cpu() { awk -v mb="$(grep -o '[0-9.]* MB' "$1" | head -1 | cut -d' ' -f1)" -v s="$(cpu_s "$2")" 'BEGIN { printf "%.1f", mb / s }'; }

{
  echo "# medledger-fhir benchmark"
  echo
  echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, $(uname -m), release build, single-threaded; load average at start: $(cut -d" " -f1-3 /proc/loadavg) (the machine is shared: other builds compete)."
  echo "Throughput = canonical NDJSON bytes scanned / wall time of the de-identification run"
  echo "(decrypt store, select, de-identify, k-anonymity, write). Peak RSS from GNU time."
  echo
  echo "| corpus | stage | figures (wall clock) | CPU s | MB per CPU s | peak RSS (MB) |"
  echo "|---|---|---|---|---|---|"
} > "$RESULTS"

for size in "$BASE" "$((BASE * 4))"; do
  dir="$WORK/c$size"
  "$TOOL" generate "$dir/export" "$size" 7
  /usr/bin/time -v -o "$dir/ingest.time" "$TOOL" ingest "$dir/export" "$dir/store" "$dir/store.key" "$dir/export/owners.csv" | tee "$dir/ingest.out"
  echo "| ${size} MB | ingest | $(sed 's/^ingest: //' "$dir/ingest.out") | $(cpu_s "$dir/ingest.time") | $(per_cpu "$dir/ingest.out" "$dir/ingest.time") | $(peak_mb "$dir/ingest.time") |" >> "$RESULTS"
  # The new store reaches the disk before anything is timed: a node delivers from a store
  # ingested earlier, not from one still being written back.
  sync
  # Five times: the first run after ingest also pays for memory pages this machine has not
  # touched yet (on a virtual machine each first touch traps to the hypervisor), which a node
  # that runs deliveries day after day does not, and on a shared virtual machine one run in
  # three or four can take 10-25 % longer; every run is reported, and their median.
  for run in "run 1, right after ingest" "run 2" "run 3" "run 4" "run 5"; do
    rm -rf "$dir/delivery"
    /usr/bin/time -v -o "$dir/deid.time" "$TOOL" deidentify "$dir/store" "$dir/store.key" "$dir/delivery" 5 | tee "$dir/deid.out"
    echo "| ${size} MB | deidentify, $run | $(sed 's/^deidentify: //' "$dir/deid.out") | $(cpu_s "$dir/deid.time") | $(per_cpu "$dir/deid.out" "$dir/deid.time") | $(peak_mb "$dir/deid.time") |" >> "$RESULTS"
    per_cpu "$dir/deid.out" "$dir/deid.time" >> "$dir/per-cpu"
    echo >> "$dir/per-cpu"
  done
  echo "$size $(sort -n "$dir/per-cpu" | sed -n 3p)" >> "$WORK/medians"
  rm -rf "$dir"
done
dir="$WORK/p2000"
"$TOOL" generate-patients "$dir/export" 2000 7
"$TOOL" ingest "$dir/export" "$dir/store" "$dir/store.key" "$dir/export/owners.csv" > "$dir/ingest.out"
/usr/bin/time -v -o "$dir/deid.time" "$TOOL" deidentify "$dir/store" "$dir/store.key" "$dir/delivery" 5 | tee "$dir/deid.out"
echo "| 2 000 patients | deidentify | $(sed 's/^deidentify: //' "$dir/deid.out") | $(cpu_s "$dir/deid.time") | $(per_cpu "$dir/deid.out" "$dir/deid.time") | $(peak_mb "$dir/deid.time") |" >> "$RESULTS"
rm -rf "$dir"
{
  echo
  while read -r size median; do
    echo "Median of the five de-identification runs at $size MB: $median MB per CPU s."
  done < "$WORK/medians"
  echo "Load average at the end: $(cut -d" " -f1-3 /proc/loadavg)."
} >> "$RESULTS"
cat "$RESULTS"
