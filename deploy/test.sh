#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test.
#   ./deploy/test.sh                 # everything
#   ./deploy/test.sh -L unit         # extra arguments go to ctest
# KILN_BUILD_DIR (default ./build) chooses the build directory.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${KILN_BUILD_DIR:-$root/build}"
# Paths relative to the checkout in ccache's keys: a fresh clone elsewhere
# still hits the cache of an earlier build.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"

"$root/deploy/install-deps.sh"

start=$(date +%s)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build"
echo "test.sh: build took $(( $(date +%s) - start )) s"

ctest --test-dir "$build" --output-on-failure --no-tests=error -j2 "$@"
