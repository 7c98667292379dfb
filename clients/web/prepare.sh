#!/usr/bin/env sh
# Fills clients/web/vendor/ with what the page loads besides its own files:
# @tensorflow/tfjs and its WASM backend (script and .wasm binaries) from
# node_modules (run `npm ci` at the repository root first) and the sync
# library from clients/sync. Copies, not symlinks, so
# that the directory can be served, mounted or copied anywhere as it is
# (nginx in compose, the serving image). Run again after `npm ci` or after
# changing clients/sync/kiln-sync.js; deploy/quickstart.sh runs it.
set -eu
web="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$web/../.." && pwd)"
tfjs="$root/node_modules/@tensorflow/tfjs/dist/tf.min.js"
if [ ! -f "$tfjs" ]; then
  echo "prepare.sh: $tfjs is missing: run npm ci in $root" >&2
  exit 1
fi
wasm="$root/node_modules/@tensorflow/tfjs-backend-wasm/dist"
if [ ! -f "$wasm/tf-backend-wasm.min.js" ]; then
  echo "prepare.sh: $wasm/tf-backend-wasm.min.js is missing: run npm ci in $root" >&2
  exit 1
fi
mkdir -p "$web/vendor"
cp "$tfjs" "$web/vendor/tf.min.js"
cp "$wasm/tf-backend-wasm.min.js" "$wasm"/tfjs-backend-wasm*.wasm "$web/vendor/"
cp "$root/clients/sync/kiln-sync.js" "$web/vendor/kiln-sync.js"
