#!/usr/bin/env bash
# Installs everything Kiln's build, tests and benchmarks need on Debian
# bookworm: Debian packages, then the npm packages pinned by package-lock.json.
# Idempotent and quiet when there is nothing to do. Runs as root (or via sudo).
#   --build-only   just what compiling the programs needs (the images' build
#                  stage: no tests, no benchmarks, no node)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_only=0
[ "${1:-}" = "--build-only" ] && build_only=1

build_packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git ca-certificates
  # gRPC / protobuf / abseil
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler libabsl-dev
  # training: libtorch with c10d/Gloo
  libtorch-dev libgloo-dev
  # storage and formats
  libpqxx-dev libsqlite3-dev libarchive-dev libssl-dev
  # HTTP server (the registry), JSON, CLI
  libmicrohttpd-dev nlohmann-json3-dev libcli11-dev
  # the images' runtime library lists (deploy/docker/runtime-libs.sh)
  patchelf
)
test_packages=(
  # tests (cpp-httplib: the HTTP tests' client), the quickstart's PostgreSQL
  libgtest-dev libgmock-dev libcpp-httplib-dev postgresql sqlite3
  # browser tests, deployment checks, quickstart, benchmarks
  chromium docker-compose python3-yaml wrk nginx-light python3-torch python3-sklearn procps psmisc curl openssl
  # the scale-out benchmark's shaped links (bench/scaleout/netns.sh)
  iproute2 ethtool
  # the compose test: a Docker engine and the base images it makes
  docker.io debootstrap
  # the fuzz test (tests/fuzz): clang, libFuzzer and the sanitizer runtimes
  # (libclang-rt-14-dev, which clang-14 only recommends)
  clang-14 libfuzzer-14-dev libclang-rt-14-dev
)
packages=("${build_packages[@]}")
[ "$build_only" = 1 ] || packages+=("${test_packages[@]}")

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ "$build_only" = 0 ] && { ! command -v node >/dev/null || ! command -v npm >/dev/null; }; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# npm packages for the JavaScript parts (tfjs parity tests, browser tests).
# Reinstall only when the lock file changed since the last install.
if [ "$build_only" = 0 ] && [ -f "$root/package-lock.json" ]; then
  stamp="$root/node_modules/.kiln-lock-sha256"
  want="$(sha256sum "$root/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "install-deps: npm ci"
    (cd "$root" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    echo "$want" > "$stamp"
  fi
  # The web app serves tfjs and the sync library from its own vendor/.
  "$root/clients/web/prepare.sh"
fi
