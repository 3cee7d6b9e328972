#!/usr/bin/env bash
# Runs the libFuzzer targets (built by fuzz/build.sh, seeded by fuzz/make_seeds.py).
#
#   fuzz/run.sh SECONDS [TARGET...]      bounded: each target for SECONDS (CI, tests/test_fuzz.py)
#   fuzz/run.sh --runs N [TARGET...]     by hand: each target until N executions (ROBUSTNESS.md: 10000000)
#   fuzz/run.sh --long [TARGET...]       by hand: each target for an hour (FUZZ_LONG_SECONDS)
#   fuzz/run.sh --replay [TARGET...]     every corpus input once (-runs=0), e.g. under ASan
#                                        after a FUZZ_BUILD=fast run grew the corpus
#
# FUZZ_BUILD=asan (default: ASan+UBSan, build/fuzz/) or fast (UBSan only,
# build/fuzz/fast/, ~20x faster reader targets); both share one corpus per target.
#
# Each target runs on build/fuzz/corpus/<target> (kept between runs, grows), the seeds
# and tests/regressions/<target> (every crash found so far, replayed first). Limits:
# -rss_limit_mb=2048 -timeout=10 (seconds per input) -max_len (readers 65536, decoders
# 4096). Any crash, leak, sanitizer report, timeout or out-of-memory fails the run:
# its input is saved to build/fuzz/artifacts/<build>-<mode>/<target>/ (move it to tests/regressions/<target>/).
# FUZZ_PARALLEL=2 runs two targets at a time (this machine has 2 cores). A bounded run
# is also killed from outside 120 s past its time (exit 124: libFuzzer's own -timeout
# can deadlock under ASan when an input hangs in the allocator).
# A summary table (executions, exec/s, coverage, corpus) goes to stdout and to
# build/fuzz/summary-<build>-<mode>.tsv; each target's log to build/fuzz/logs/<build>-<mode>/<target>.log.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${FUZZ_OUT:-$ROOT/build/fuzz}"
BUILD="${FUZZ_BUILD:-asan}"
BIN="$OUT"; [[ $BUILD == fast ]] && BIN="$OUT/fast"

usage() { sed -n '2,16p' "$0" >&2; exit 2; }
(( $# )) || usage
LIMIT=()
case "$1" in
  --runs) [[ $# -ge 2 ]] || usage; LIMIT=(-runs="$2"); MODE="runs$2"; WALL=0; shift 2 ;;
  --long) LIMIT=(-max_total_time="${FUZZ_LONG_SECONDS:-3600}"); MODE=long; WALL=$(( ${FUZZ_LONG_SECONDS:-3600} + 300 )); shift ;;
  --replay) LIMIT=(-runs=0); MODE=replay; WALL=1800; shift ;;
  *[!0-9]*|"") usage ;;
  *) LIMIT=(-max_total_time="$1"); MODE="${1}s"; WALL=$(( $1 + 120 )); shift ;;
esac

ALL=(fuzz_pcap fuzz_pcapng fuzz_gzip fuzz_mac_control fuzz_lldp fuzz_netlink fuzz_dispatch fuzz_engine fuzz_ranges)
if (( $# )); then TARGETS=("$@"); else TARGETS=("${ALL[@]}"); fi

FUZZ_BUILD=$BUILD "$ROOT/fuzz/build.sh" "${TARGETS[@]}" || exit 2
[[ -d "$OUT/seeds" ]] || python3 "$ROOT/fuzz/make_seeds.py" --out "$OUT/seeds" || exit 2
LOGS="$OUT/logs/$BUILD-$MODE"
mkdir -p "$LOGS"

run_one() {
  local t=$1 max_len=4096
  case $t in fuzz_pcap|fuzz_pcapng|fuzz_gzip|fuzz_engine|fuzz_ranges) max_len=65536 ;; esac
  local corpus="$OUT/corpus/$t" art="$OUT/artifacts/$BUILD-$MODE/$t"
  rm -rf "$art"
  mkdir -p "$corpus" "$art" "$OUT/seeds/$t"
  local dirs=("$corpus" "$OUT/seeds/$t")
  [[ -d "$ROOT/tests/regressions/$t" ]] && dirs+=("$ROOT/tests/regressions/$t")
  local dict=()
  [[ -f "$ROOT/fuzz/$t.dict" ]] && dict=(-dict="$ROOT/fuzz/$t.dict")
  # detect_leaks: LeakSanitizer after each input; ASan/UBSan abort on the first report.
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:allocator_may_return_null=0}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$ROOT/fuzz/known_bugs.supp}" \
    timeout -k 10 "$WALL" "$BIN/$t" "${LIMIT[@]}" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=$max_len \
    -print_final_stats=1 -artifact_prefix="$art/" "${dict[@]}" "${dirs[@]}" >"$LOGS/$t.log" 2>&1
  echo $? >"$LOGS/$t.rc"
}

summary() {  # one line per target from its log
  local t=$1 log="$LOGS/$1.log" rc
  rc=$(cat "$LOGS/$t.rc" 2>/dev/null || echo "?")
  local execs eps secs cov ft corp crashes
  execs=$(awk '/stat::number_of_executed_units:/ {v=$2} END {print v}' "$log")
  eps=$(awk '/stat::average_exec_per_sec:/ {v=$2} END {print v}' "$log")
  # the last status line: "#N  DONE/pulse  cov: C ft: F corp: N/size ..."
  local last; last=$(grep -E '^#[0-9]+' "$log" | tail -1)
  cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<<"$last")
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  crashes=$(ls "$OUT/artifacts/$BUILD-$MODE/$t" 2>/dev/null | wc -l)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "${execs:-?}" "${eps:-?}" "$secs" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$crashes" "$rc"
}

pids=()
for t in "${TARGETS[@]}"; do
  [[ -x "$BIN/$t" ]] || { echo "no fuzz target $t" >&2; exit 2; }
  rm -f "$LOGS/$t.rc"
  echo "fuzzing $t (${LIMIT[*]})" >&2
  run_one "$t" &
  pids+=($!)
  if (( ${#pids[@]} >= ${FUZZ_PARALLEL:-1} )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
done
for p in "${pids[@]}"; do wait "$p"; done

failed=0
{
  printf 'target\texecutions\texec/s\tseconds\tcov\tft\tcorpus(n/size)\tartifacts\texit\n'
  for t in "${TARGETS[@]}"; do summary "$t"; done
} | tee "$OUT/summary-$BUILD-$MODE.tsv" | column -t -s $'\t'
for t in "${TARGETS[@]}"; do
  rc=$(cat "$LOGS/$t.rc" 2>/dev/null || echo 1)
  if [[ $rc != 0 ]] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error:)' "$LOGS/$t.log"; then
    echo "FAIL $t (exit $rc): see $LOGS/$t.log" >&2
    grep -E 'ERROR|runtime error|invariant violated|SUMMARY|Test unit written' "$LOGS/$t.log" | head -5 >&2
    failed=1
  fi
done
exit $failed
