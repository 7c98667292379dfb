#!/usr/bin/env bash
# The long fuzz run: every libFuzzer target of tests/fuzz for SECONDS each
# (default 600), keeping what it found in the fuzz build's corpus/ so that a
# later run starts from there. Prints each target's executions and exec/s.
#   bench/fuzz/run.sh [SECONDS]
# FUZZERS and KILN_FUZZ_BUILD_DIR as for tests/fuzz/run.sh.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
exec "$root/tests/fuzz/run.sh" "${1:-600}"
