#!/usr/bin/env bash
# Builds the libFuzzer targets into build/fuzz/ with Debian's clang:
#   clang++ -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# straight from cpp/src (no CMake): the core sources once as objects, then one
# binary per fuzz/fuzz_*.cpp. Incremental: a file is rebuilt when a source or any
# header is newer than it. Needs: apt-get install clang libclang-rt-14-dev llvm zlib1g-dev
#   fuzz/build.sh            # all targets
#   fuzz/build.sh fuzz_lldp  # some
#   JOBS=1 fuzz/build.sh     # parallel compiles (default 2: this is a 2-core machine)
#   FUZZ_BUILD=fast fuzz/build.sh  # UBSan only (no ASan, no LeakSanitizer), into build/fuzz/fast/:
#                            # ~20x the executions/s of the reader targets (ASan's cost is
#                            # the reader's 4 MB block per file); its corpus is then
#                            # replayed under ASan (fuzz/run.sh --replay)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${FUZZ_OUT:-$ROOT/build/fuzz}"
case "${FUZZ_BUILD:-asan}" in
  asan) SAN="-fsanitize=address,undefined" ;;
  fast) SAN="-fsanitize=undefined"; OUT="$OUT/fast" ;;
  *) echo "FUZZ_BUILD=asan|fast" >&2; exit 2 ;;
esac
JOBS="${JOBS:-2}"
CXX="${FUZZ_CXX:-}"
if [[ -z "$CXX" ]]; then
  for c in clang++ clang++-14 clang++-15 clang++-16; do
    if command -v "$c" >/dev/null; then CXX="$c"; break; fi
  done
fi
if [[ -z "$CXX" ]]; then
  echo "fuzz/build.sh: clang++ not found (apt-get install -y clang libclang-rt-14-dev llvm)" >&2
  exit 2
fi

# Every report is fatal, except that signed-integer-overflow stays recoverable so that
# fuzz/known_bugs.supp can suppress a reported, unfixed one (UBSAN_OPTIONS=
# halt_on_error=1 still makes any other report fatal).
SAN="$SAN -fno-sanitize-recover=all -fsanitize-recover=signed-integer-overflow -fno-omit-frame-pointer"
CXXFLAGS=(-std=c++20 -O1 -g -Wall -Wextra -I"$ROOT/cpp/include" -I"$ROOT/fuzz")
# The reader, decoder and tracker sources the targets exercise.
CORE=(io/block_buffer column_pool column_prefaulter io/capture_reader decode/lldp decode/dispatch capture engine
      track/config track/link_tracker track/pfc_tracker track/counter_tracker track/lldp_tracker
      io/capture_split io/merged_captures pipeline range_replay)

mkdir -p "$OUT/obj"
HEADERS=$(find "$ROOT/cpp/include" "$ROOT/fuzz" -name '*.hpp' -newer "$OUT/.headers-stamp" 2>/dev/null | head -1 || true)
if [[ ! -e "$OUT/.headers-stamp" || -n "$HEADERS" ]]; then FORCE=1; else FORCE=0; fi
# new flags (or compiler) rebuild everything
FLAGS="$CXX $($CXX --version | head -1) ${CXXFLAGS[*]} $SAN"
if [[ "$(cat "$OUT/.flags" 2>/dev/null)" != "$FLAGS" ]]; then FORCE=1; fi

stale() {  # stale OUTPUT INPUT...
  local out=$1; shift
  [[ $FORCE == 1 || ! -e $out ]] && return 0
  for f in "$@"; do [[ $f -nt $out ]] && return 0; done
  return 1
}

pids=()
run() {  # run in the background, at most $JOBS at a time
  "$@" &
  pids+=($!)
  if (( ${#pids[@]} >= JOBS )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
}
finish() { for p in "${pids[@]}"; do wait "$p"; done; pids=(); }

for s in "${CORE[@]}"; do
  o="$OUT/obj/${s//\//_}.o"
  if stale "$o" "$ROOT/cpp/src/$s.cpp"; then
    echo "  CXX  cpp/src/$s.cpp"
    # shellcheck disable=SC2086
    run "$CXX" "${CXXFLAGS[@]}" $SAN -fsanitize=fuzzer-no-link -c "$ROOT/cpp/src/$s.cpp" -o "$o"
  fi
done
finish

if (( $# )); then TARGETS=("$@"); else
  TARGETS=()
  for f in "$ROOT"/fuzz/fuzz_*.cpp; do TARGETS+=("$(basename "$f" .cpp)"); done
fi
OBJS=()
for s in "${CORE[@]}"; do OBJS+=("$OUT/obj/${s//\//_}.o"); done
for t in "${TARGETS[@]}"; do
  if stale "$OUT/$t" "$ROOT/fuzz/$t.cpp" "${OBJS[@]}"; then
    echo "  LINK $t"
    # shellcheck disable=SC2086
    run "$CXX" "${CXXFLAGS[@]}" $SAN -fsanitize=fuzzer "$ROOT/fuzz/$t.cpp" "${OBJS[@]}" -lz -o "$OUT/$t"
  fi
done
finish
touch "$OUT/.headers-stamp"
echo "$FLAGS" >"$OUT/.flags"
echo "fuzz targets in ${OUT#$ROOT/}: ${TARGETS[*]}"
