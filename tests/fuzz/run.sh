#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 (AddressSanitizer, UBSan) in a
# build directory of their own and runs each on its seed corpus for SECONDS;
# fails if any of them finds a crash, a leak, a timeout or runs out of memory.
#   tests/fuzz/run.sh [SECONDS]                   (default 20 per target)
#   FUZZERS="manifest_fuzzer" tests/fuzz/run.sh 60  (some targets only)
# KILN_FUZZ_BUILD_DIR: the clang build directory (default build/fuzz).
# Inputs found are kept in <build>/corpus/<target>; a failing input is saved
# as <build>/artifacts/<target>/crash-* (or leak-*, timeout-*, oom-*), to
# reproduce with `<build>/tests/fuzz/<target> FILE`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-20}"
build="${KILN_FUZZ_BUILD_DIR:-$root/build/fuzz}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
# The line tables make ccache hash the working directory too, which a fresh
# clone elsewhere (CI) never shares; traces then name the first builder's
# directory, with the right paths below it.
export CCACHE_NOHASHDIR=1

start=$(date +%s)
cmake -S "$root" -B "$build" -G Ninja -DKILN_BUILD_FUZZERS=ON -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build "$build" --target kiln_fuzzers
echo "fuzz: build took $(( $(date +%s) - start )) s"

fuzzers=${FUZZERS:-$(cd "$root/tests/fuzz" && ls -- *_fuzzer.cc | sed 's/\.cc$//')}
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
failed=()
printf '%-24s %12s %10s %8s  %s\n' target executions exec/s corpus result
for fuzzer in $fuzzers; do
  seeds="$root/tests/fuzz/corpus/$fuzzer"
  [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds" >&2; exit 1; }
  corpus="$build/corpus/$fuzzer"
  artifacts="$build/artifacts/$fuzzer"
  log="$build/logs/$fuzzer.log"
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  # New inputs go to the first directory; the committed seeds stay as they are.
  result=ok
  "$build/tests/fuzz/$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$seeds" >"$log" 2>&1 ||
    result=FAILED
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  printf '%-24s %12s %10s %8s  %s\n' "$fuzzer" "${runs:--}" "${speed:--}" \
    "$(ls "$corpus" | wc -l)" "$result"
  if [ "$result" != ok ]; then
    failed+=("$fuzzer")
    grep -E -A40 '^==[0-9]+==|runtime error|FUZZ_CHECK|^SUMMARY' "$log" | head -60 >&2 || true
    echo "fuzz: $fuzzer failed; log $log, input in $artifacts" >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: ${#failed[@]} target(s) failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz: every target ran ${seconds} s without a finding"
