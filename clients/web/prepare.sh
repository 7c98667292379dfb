#!/usr/bin/env sh
# Fills clients/web/vendor/ with what the page loads besides its own files:
# @tensorflow/tfjs and its WASM backend (script and .wasm binaries) from
# node_modules (run `npm ci` at the repository root first) and the sync
# library from clients/sync with the text library it imports from
# clients/text, side by side as in the repository (vendor/sync,
# vendor/text). Copies, not symlinks, so
# that the directory can be served, mounted or copied anywhere as it is
# (nginx in compose, the serving image). Run again after `npm ci` or after
# changing clients/sync or clients/text; deploy/quickstart.sh runs it.
set -eu
web="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$web/../.." && pwd)"
# The ES2017 bundles: the ES5 ones carry polyfills that call eval, which the
# page's Content-Security-Policy refuses (and every browser that runs WASM
# has ES2017).
tfjs="$root/node_modules/@tensorflow/tfjs/dist/tf.es2017.min.js"
if [ ! -f "$tfjs" ]; then
  echo "prepare.sh: $tfjs is missing: run npm ci in $root" >&2
  exit 1
fi
wasm="$root/node_modules/@tensorflow/tfjs-backend-wasm/dist"
if [ ! -f "$wasm/tf-backend-wasm.es2017.min.js" ]; then
  echo "prepare.sh: $wasm/tf-backend-wasm.es2017.min.js is missing: run npm ci in $root" >&2
  exit 1
fi
mkdir -p "$web/vendor"
rm -f "$web/vendor/tf.min.js" "$web/vendor/tf-backend-wasm.min.js"  # the ES5 bundles earlier versions used
cp "$tfjs" "$web/vendor/"
cp "$wasm/tf-backend-wasm.es2017.min.js" "$wasm"/tfjs-backend-wasm*.wasm "$web/vendor/"
rm -f "$web/vendor/kiln-sync.js"  # where versions before bundle format 2 put it
mkdir -p "$web/vendor/sync" "$web/vendor/text"
cp "$root/clients/sync/kiln-sync.js" "$root/clients/sync/layers-model-io.js" "$web/vendor/sync/"
cp "$root/clients/text/kiln-text.js" "$root/clients/text/kiln-preprocess.js" "$web/vendor/text/"
