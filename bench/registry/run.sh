#!/usr/bin/env bash
# Registry HTTP against nginx, in one run, on 127.0.0.1 only: a private
# PostgreSQL, kiln-registry, and nginx serving the same files from disk with
# the same cache headers; wrk measures both for manifest.json (200), the
# same with If-None-Match (304), and a 4 MiB weight shard.
#
#   bench/registry/run.sh [BUILD_DIR]       (default: build)
#
# Environment: DURATION (wrk seconds per run, default 10), REPS (runs per
# case, median reported, default 3), CONNECTIONS (64), THREADS (2).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=$(cd "${1:-$repo/build}" && pwd)
duration=${DURATION:-10}
reps=${REPS:-3}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}
registry_bin=$build/services/registry/kiln-registry
publish_bin=$build/bench/registry/kiln_bench_registry_publish
for binary in "$registry_bin" "$publish_bin"; do
  [ -x "$binary" ] || { echo "missing $binary: cmake --build $build --target kiln-registry kiln_bench_registry_publish" >&2; exit 1; }
done
command -v wrk >/dev/null || { echo "wrk is not installed" >&2; exit 1; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

work=$(mktemp -d /tmp/kiln-bench-XXXXXX)
# PostgreSQL (run as postgres under root) and nginx's workers (nobody) must
# reach their files below it.
chmod 755 "$work"
pg_dir=$work/pg
registry_pid=""
nginx_pid=""
cleanup() {
  [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null || true
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null || true
  "$repo/tests/support/pg-cluster.sh" stop "$pg_dir" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_for() {  # URL
  for _ in $(seq 100); do
    curl -fs -o /dev/null "$1" && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  exit 1
}

database_url=$("$repo/tests/support/pg-cluster.sh" start "$pg_dir")
grpc_port=$(free_port)
kiln_port=$(free_port)
nginx_port=$(free_port)
token=bench-writer-token-0123456789

"$registry_bin" --database-url "$database_url" --listen "127.0.0.1:$grpc_port" \
  --http-listen "127.0.0.1:$kiln_port" --tokens "writer:$token" --log-level warning \
  >"$work/registry.log" 2>&1 &
registry_pid=$!
wait_for "http://127.0.0.1:$kiln_port/healthz"

www=$work/www
"$publish_bin" --registry "127.0.0.1:$grpc_port" --token "$token" --model bench --out "$www" >/dev/null
chmod -R a+rX "$www"

mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types {
    application/json json;
    text/javascript js;
    application/octet-stream bin;
  }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$nginx_port;
    root $www;
    add_header Access-Control-Allow-Origin "*" always;
    add_header Access-Control-Expose-Headers "ETag, Content-Length, X-Kiln-Version" always;
    location /v1/models/bench/aliases/ {
      add_header Access-Control-Allow-Origin "*" always;
      add_header Access-Control-Expose-Headers "ETag, Content-Length, X-Kiln-Version" always;
      add_header Cache-Control "no-cache" always;
      add_header X-Kiln-Version "1" always;
    }
    location /v1/models/bench/versions/ {
      add_header Access-Control-Allow-Origin "*" always;
      add_header Access-Control-Expose-Headers "ETag, Content-Length, X-Kiln-Version" always;
      add_header Cache-Control "public, max-age=31536000, immutable" always;
      add_header X-Kiln-Version "1" always;
    }
  }
}
CONF
"$nginx_bin" -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
wait_for "http://127.0.0.1:$nginx_port/v1/models/bench/aliases/latest/manifest.json"

manifest_path=/v1/models/bench/aliases/latest/manifest.json
shard_path=/v1/models/bench/versions/1/group1-shard1of1.bin
cat >"$work/if-none-match.lua" <<'LUA'
wrk.headers["If-None-Match"] = os.getenv("ETAG")
LUA

# The same bytes from both, or the comparison means nothing.
for path in "$manifest_path" "$shard_path"; do
  if ! cmp -s <(curl -fs "http://127.0.0.1:$kiln_port$path") <(curl -fs "http://127.0.0.1:$nginx_port$path"); then
    echo "kiln and nginx serve different bytes for $path" >&2
    exit 1
  fi
done
etag_of() { curl -fsI "$1" | tr -d '\r' | awk 'tolower($1) == "etag:" { print $2 }'; }
status_with_etag() { curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $2" "$1"; }
for port in "$kiln_port" "$nginx_port"; do
  url="http://127.0.0.1:$port$manifest_path"
  [ "$(status_with_etag "$url" "$(etag_of "$url")")" = 304 ] || { echo "no 304 from $url" >&2; exit 1; }
done

# One wrk run; prints "requests_per_second p99_milliseconds".
measure() {  # URL [ETAG]
  local url=$1 etag=${2:-} output
  if [ -n "$etag" ]; then
    output=$(ETAG=$etag wrk -t"$threads" -c"$connections" -d"${duration}s" --latency -s "$work/if-none-match.lua" "$url")
  else
    output=$(wrk -t"$threads" -c"$connections" -d"${duration}s" --latency "$url")
  fi
  if echo "$output" | grep -q "Non-2xx or 3xx"; then
    echo "wrk saw errors from $url:" >&2
    echo "$output" >&2
    exit 1
  fi
  echo "$output" | awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" {
      value = $2; unit = value; sub(/[0-9.]+/, "", unit); sub(/[a-z]+$/, "", value)
      p99 = value * (unit == "us" ? 0.001 : unit == "s" ? 1000 : unit == "m" ? 60000 : 1)
    }
    END { printf "%s %.3f\n", rps, p99 }'
}

median() { sort -g | awk '{ values[NR] = $1 } END { print values[int((NR + 1) / 2)] }'; }

echo "wrk: $threads threads, $connections connections, ${duration}s per run, median of $reps runs; all on 127.0.0.1"
printf "%-22s %12s %10s %12s %10s %8s %8s\n" case "kiln req/s" "kiln p99" "nginx req/s" "nginx p99" "ratio" "p99 x"
for case in manifest-200 manifest-304 shard-4MiB; do
  declare -A rps=() p99=()
  for server in kiln nginx; do rps[$server]=""; p99[$server]=""; done
  for _ in $(seq "$reps"); do
    # Alternating servers spreads any drift of the machine over both.
    for server in kiln nginx; do
      port=$([ $server = kiln ] && echo "$kiln_port" || echo "$nginx_port")
      case $case in
        manifest-200) result=$(measure "http://127.0.0.1:$port$manifest_path") ;;
        manifest-304)
          url="http://127.0.0.1:$port$manifest_path"
          result=$(measure "$url" "$(etag_of "$url")") ;;
        shard-4MiB) result=$(measure "http://127.0.0.1:$port$shard_path") ;;
      esac
      rps[$server]+="${result% *}"$'\n'
      p99[$server]+="${result#* }"$'\n'
    done
  done
  kiln_rps=$(printf "%s" "${rps[kiln]}" | median)
  nginx_rps=$(printf "%s" "${rps[nginx]}" | median)
  kiln_p99=$(printf "%s" "${p99[kiln]}" | median)
  nginx_p99=$(printf "%s" "${p99[nginx]}" | median)
  awk -v c="$case" -v kr="$kiln_rps" -v kp="$kiln_p99" -v nr="$nginx_rps" -v np="$nginx_p99" \
    'BEGIN { printf "%-22s %12.0f %8.2fms %12.0f %8.2fms %8.2f %8.2f\n", c, kr, kp, nr, np, kr / nr, kp / np }'
done
echo "ratio = kiln req/s / nginx req/s (target >= 1.0 for manifests); p99 x = kiln p99 / nginx p99 (target <= 2 for the shard)"
