#!/usr/bin/env bash
# Kiln's main job on one machine, without Docker: installs dependencies,
# builds, starts a private PostgreSQL and every service on loopback (the same
# binaries and KILN_* settings as docker-compose.yml), ingests the 20
# Newsgroups corpus, trains the article's 8-topic model, evaluates and
# publishes it, prints its metrics and the web address, and serves until
# Ctrl-C.
#
#   ./deploy/quickstart.sh              run (a second run reuses data and model)
#   ./deploy/quickstart.sh --detach     start and return
#   ./deploy/quickstart.sh --retrain    train a new version even if one exists
#   ./deploy/quickstart.sh stop         stop everything it started
#   ./deploy/quickstart.sh restart NAME start one service of a detached run
#                                       again (data, preprocess, training,
#                                       evaluation, registry, worker-N), with
#                                       the same settings; a running one is
#                                       stopped first
#
# Environment: KILN_STATE_DIR (default ./.kiln), KILN_BUILD_DIR (./build),
# KILN_DATASET (the corpus; default ../shared/datasets/20news-bydate.tar.gz,
# else downloaded), KILN_PORT_BASE (7000: gRPC ports base+1..base+6),
# KILN_HTTP_PORT (8080), KILN_WORKERS (2), KILN_SKIP_BUILD=1,
# KILN_GRPC_BIND (127.0.0.1: the address the services listen on).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${KILN_STATE_DIR:-$root/.kiln}"
build="${KILN_BUILD_DIR:-$root/build}"
base="${KILN_PORT_BASE:-7000}"
http_port="${KILN_HTTP_PORT:-8080}"
workers="${KILN_WORKERS:-2}"
bind="${KILN_GRPC_BIND:-127.0.0.1}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
corpus_url="http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz"

detach=0 retrain=0 command=run service=""
while [ $# -gt 0 ]; do
  case "$1" in
    --detach) detach=1 ;;
    --retrain) retrain=1 ;;
    stop) command=stop ;;
    restart)
      [ $# -ge 2 ] || { echo "quickstart: restart needs a service name (see --help)" >&2; exit 2; }
      command=restart service=$2; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "quickstart: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

say() { printf 'quickstart: %s\n' "$*"; }

stop_one() {  # stop_one NAME: TERM, then KILL if it is still there after 10 s
  local pidfile="$state/pids/$1.pid" pid
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

stop_all() {
  local pidfile pid
  # Every service is told at once, then each is waited for.
  for pidfile in "$state"/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for pidfile in "$state"/pids/*.pid; do
    [ -f "$pidfile" ] || continue
    stop_one "$(basename "$pidfile" .pid)"
  done
  if [ -f "$state/pg/.kiln-pg-cluster" ]; then
    "$root/tests/support/pg-cluster.sh" halt "$state/pg" || true
  fi
}

if [ "$command" = stop ]; then
  stop_all
  say "stopped"
  exit 0
fi

if [ "$command" = restart ] && { [ ! -f "$state/pg/uri" ] || [ ! -f "$state/tokens" ]; }; then
  say "no run to restart $service in: $state has no database or tokens yet"
  exit 1
fi

if [ "$command" = run ] && [ "${KILN_SKIP_BUILD:-0}" != 1 ]; then
  "$root/deploy/install-deps.sh"
  say "building (first time: ~15 minutes; then seconds)"
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --target kiln kiln-data kiln-preprocess kiln-training kiln-evaluation \
    kiln-registry kiln-worker | tail -n 1
fi

kiln="$build/clients/cli/kiln"
web_root=""
[ -f "$root/clients/web/index.html" ] && web_root="$root/clients/web"

if [ "$command" = run ]; then
  mkdir -p "$state/logs" "$state/pids"
  # PostgreSQL runs as its own user and must be able to reach $state/pg.
  chmod go+x "$state"
  # A stale run (say, after a reboot) leaves pid files behind.
  stop_all 2>/dev/null

  # PostgreSQL: a private cluster kept across runs.
  if [ -f "$state/pg/.kiln-pg-cluster" ] && [ -d "$state/pg/data" ]; then
    "$root/tests/support/pg-cluster.sh" resume "$state/pg" >/dev/null
  else
    mkdir -p "$state/pg"
    # Durable: the user's posts and models live here, unlike a test cluster.
    "$root/tests/support/pg-cluster.sh" start --durable "$state/pg" kiln >/dev/null
  fi
fi
database_url=$(cat "$state/pg/uri")

# Tokens: generated once, never printed in full.
if [ ! -f "$state/tokens" ]; then
  umask 077
  {
    echo "admin:$(openssl rand -hex 24)"
    echo "writer:$(openssl rand -hex 24)"
    echo "reader:$(openssl rand -hex 24)"
  } > "$state/tokens"
fi
writer_token=$(sed -n 's/^writer://p' "$state/tokens")

export KILN_TOKENS_FILE="$state/tokens"
export KILN_PUBLIC_READS=true
export KILN_TOKEN="$writer_token"
export KILN_DATABASE_URL="$database_url"
export KILN_DATA_ADDRESS="127.0.0.1:$((base + 1))"
export KILN_PREPROCESS_ADDRESS="127.0.0.1:$((base + 2))"
export KILN_TRAINING_ADDRESS="127.0.0.1:$((base + 3))"
export KILN_EVALUATION_ADDRESS="127.0.0.1:$((base + 4))"
export KILN_REGISTRY_ADDRESS="127.0.0.1:$((base + 5))"

start() {  # start NAME BINARY PORT [VAR=VALUE ...]
  local name=$1 binary=$2 port=$3; shift 3
  env KILN_LISTEN="$bind:$port" "$@" setsid "$build/services/$binary" >>"$state/logs/$name.log" 2>&1 &
  echo $! > "$state/pids/$name.pid"
  for _ in $(seq 300); do
    if "$kiln" health "127.0.0.1:$port" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$(cat "$state/pids/$name.pid")" 2>/dev/null; then
      say "$name failed to start; the end of $state/logs/$name.log:"; tail -n 20 "$state/logs/$name.log"
      exit 1
    fi
    sleep 0.1
  done
  say "$name did not become healthy"; exit 1
}

start_service() {  # start_service NAME: one service of the stack, by its name
  case "$1" in
    data) start data data/kiln-data $((base + 1)) ;;
    preprocess) start preprocess preprocess/kiln-preprocess $((base + 2)) ;;
    training) start training training/kiln-training $((base + 3)) ;;
    evaluation) start evaluation evaluation/kiln-evaluation $((base + 4)) ;;
    registry)
      start registry registry/kiln-registry $((base + 5)) \
        KILN_HTTP_LISTEN="127.0.0.1:$http_port" KILN_WEB_ROOT="$web_root" ;;
    worker-[1-9]|worker-[1-9][0-9])
      local i=${1#worker-}
      start "$1" worker/kiln-worker $((base + 5 + i)) \
        KILN_WORKER_NAME="quickstart-$i" KILN_WORKER_HOST=127.0.0.1 ;;
    *)
      say "no service '$1': data, preprocess, training, evaluation, registry or worker-N"
      exit 2 ;;
  esac
}

if [ "$command" = restart ]; then
  # Only what this run started: a typo names nothing.
  [ -f "$state/pids/$service.pid" ] || { say "this run started no service '$service'"; exit 2; }
  stop_one "$service"
  start_service "$service"
  say "$service restarted"
  exit 0
fi

for name in data preprocess training evaluation; do start_service "$name"; done
if [ -n "$web_root" ] && ! "$web_root/prepare.sh"; then say "the web app lacks tfjs until clients/web/prepare.sh succeeds"; fi
start_service registry
for i in $(seq "$workers"); do start_service "worker-$i"; done
say "services are up (logs in $state/logs)"

# Data: ingest once.
if [ ! -f "$state/ingested" ]; then
  dataset="${KILN_DATASET:-$root/../shared/datasets/20news-bydate.tar.gz}"
  if [ ! -f "$dataset" ]; then
    dataset="$state/20news-bydate.tar.gz"
    [ -f "$dataset" ] || { say "downloading the corpus from $corpus_url"; curl -fsSL -o "$dataset" "$corpus_url"; }
  fi
  "$kiln" ingest "$dataset"
  touch "$state/ingested"
fi

# Model: train once, unless asked again.
if [ "$retrain" = 1 ] || ! "$kiln" models show news >/dev/null 2>&1; then
  say "training the article's 8-topic model"
  "$kiln" train --model news
fi
"$kiln" models show news
say "web app: http://127.0.0.1:$http_port/   manifest: http://127.0.0.1:$http_port/v1/models/news/aliases/latest/manifest.json"
say "CLI: export KILN_TOKEN=\$(sed -n 's/^writer://p' $state/tokens) KILN_TRAINING_ADDRESS=$KILN_TRAINING_ADDRESS KILN_REGISTRY_ADDRESS=$KILN_REGISTRY_ADDRESS"

if [ "$detach" = 1 ]; then
  say "running in the background; stop with ./deploy/quickstart.sh stop"
  exit 0
fi
trap 'stop_all; say "stopped"; exit 0' INT TERM
say "serving; Ctrl-C stops"
while sleep 3600; do :; done
