#!/usr/bin/env bash
# The compose test: Kiln's docker-compose.yml on a real Docker engine.
# Starts dockerd if none answers, makes the debian:bookworm base images and
# the postgres/nginx stand-ins if missing (no image registry is reachable
# here), builds every image, then runs tests/compose/compose.test.mjs, which
# brings the stack up, trains, breaks and restarts it, and takes it down.
#   deploy/compose-test.sh            (CTest: ctest -L compose)
# KILN_BINARY_DIR (default ./build) has the host's kiln CLI;
# KILN_DATASET_DIR (default ../shared/datasets) the 20 Newsgroups archive.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0

seconds_since() { echo $(( $(date +%s) - $1 )); }
# Runs a command with its output kept in a log, shown only if it fails.
quietly() {
  local log
  log=$(mktemp /tmp/kiln-compose-test.XXXXXX)
  if ! "$@" >"$log" 2>&1; then
    echo "compose-test: $* failed:" >&2
    tail -n 60 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || "$root/deploy/install-deps.sh"
  echo "compose-test: starting dockerd (log: /var/log/kiln-dockerd.log)"
  nohup dockerd >/var/log/kiln-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  docker info >/dev/null 2>&1 || { tail -n 20 /var/log/kiln-dockerd.log >&2; exit 1; }
fi

start=$(date +%s)
"$root/deploy/docker/base-images.sh"
quietly docker build -t kiln-standin-postgres:15 tests/compose/standins/postgres
quietly docker build -t kiln-standin-nginx:bookworm tests/compose/standins/nginx
echo "compose-test: base images and stand-ins ready in $(seconds_since "$start") s"

# Builds behind this host's HTTPS proxy (npm) need its CA certificates.
for certificate in /usr/local/share/ca-certificates/*.crt; do
  [ -f "$certificate" ] && cp "$certificate" deploy/docker/ca-certificates/
done

start=$(date +%s)
compose=(docker-compose -f docker-compose.yml -f tests/compose/docker-compose.test.yml)
quietly "${compose[@]}" build
echo "compose-test: images built in $(seconds_since "$start") s"
for image in kiln-serving kiln-training kiln-web; do
  docker image inspect -f "compose-test: $image {{.Size}}" "$image:latest" \
    | awk '{printf "%s %s %.0f MB\n", $1, $2, $3 / 1e6}'
done

exec node --test --test-concurrency=1 tests/compose/compose.test.mjs
