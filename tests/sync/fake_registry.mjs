// Test fixtures for clients/sync/kiln-sync.js in node: format-2 Kiln
// bundles (docs/bundle.md) built in memory with the real @tensorflow/tfjs,
// and a registry that serves them through a `fetch` function the way
// services/registry/http_server.cc does, recording every request.
//
// IndexedDB is fake-indexeddb's; importing this module installs it on
// globalThis before kiln-sync.js touches `indexedDB`.
import 'fake-indexeddb/auto';

import { createHash } from 'node:crypto';

import * as tf from '@tensorflow/tfjs';

import { createPreprocessor } from '../../clients/text/kiln-preprocess.js';

export { tf };

export const BASE_URL = 'https://registry.test';
export const MODEL = 'news';
export const ALIAS = 'latest';
// The scope kiln-sync.js keys its 'versions' and 'aliases' records by.
export const SCOPE = `${BASE_URL}|${MODEL}|${ALIAS}`;

export const CLASSES = ['comp.graphics', 'sci.space', 'soc.religion'];
export const WORDS = ['<pad>', '<oov>', 'image', 'pixel', 'render', 'rocket', 'orbit', 'nasa', 'god', 'church',
  'faith', 'the'];
const MAX_LENGTH = 16;
const HIDDEN_UNITS = 4;

export function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

const encoder = new TextEncoder();

// JSON with every object's keys sorted, as Kiln writes bundle files, so that
// equal contents are equal bytes (and equal sha256s) from one version to the
// next.
function sortedJson(value, indent) {
  const sortKeys = (v) => {
    if (Array.isArray(v)) return v.map(sortKeys);
    if (v && typeof v === 'object') {
      return Object.fromEntries(Object.keys(v).sort().map((key) => [key, sortKeys(v[key])]));
    }
    return v;
  };
  return JSON.stringify(sortKeys(value), null, indent);
}

function jsonBytes(value) {
  return encoder.encode(sortedJson(value));
}

// Deterministic weights: the same seed always gives the same shard bytes.
function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A tfidf bundle: {files: Map path -> Uint8Array, manifest, manifestBytes,
 * model (the tf.LayersModel it was saved from), kiln (createPreprocessor of
 * its own files)}. `seed` picks the weights; `words` the vocabulary (its
 * sha256 is that of the word list, any 64-hex will do for the library);
 * `specVersion` goes into vocab.json, preprocess.json and the manifest.
 */
export async function buildBundle({ seed = 1, words = WORDS, specVersion = 'kiln-text-1', metrics } = {}) {
  const vocabSize = words.length;
  const vocabSha256 = sha256Hex(words.join('\n'));
  // Fixed layer and model names: tfjs would otherwise number them per
  // model built, and model.json would change with every bundle.
  const model = tf.sequential({
    name: 'sequential',
    layers: [
      tf.layers.dense({ name: 'dense', units: HIDDEN_UNITS, activation: 'relu', inputShape: [vocabSize] }),
      tf.layers.dense({ name: 'dense_1', units: CLASSES.length, activation: 'softmax' }),
    ],
  });
  const random = seededRandom(seed);
  // getWeights() hands out the layers' own variables: read their shapes,
  // dispose only the new tensors (setWeights copies them).
  const weights = model.getWeights().map((weight) =>
    tf.tensor(Float32Array.from({ length: weight.size }, () => random() * 4 - 2), weight.shape));
  model.setWeights(weights);
  tf.dispose(weights);
  let artifacts;
  await model.save(tf.io.withSaveHandler(async (saved) => {
    artifacts = saved;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const weightData = Array.isArray(artifacts.weightData)
    ? tf.io.CompositeArrayBuffer.join(artifacts.weightData) : artifacts.weightData;

  const idf = words.map((_, id) => (id < 2 ? 0 : 1 + id / 8));
  const files = new Map([
    ['group1-shard1of1.bin', new Uint8Array(weightData)],
    ['idf.json', jsonBytes({ format: 'kiln-idf', vocab_sha256: vocabSha256, idf })],
    ['model.json', jsonBytes({
      format: 'layers-model',
      modelTopology: artifacts.modelTopology,
      weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: artifacts.weightSpecs }],
    })],
    ['preprocess.json', jsonBytes({
      format: 'kiln-preprocess', spec_version: specVersion, input: 'tfidf', max_length: MAX_LENGTH,
      vocab_size: vocabSize, vocab_sha256: vocabSha256, classes: CLASSES,
    })],
    ['vocab.json', jsonBytes({ spec_version: specVersion, sha256: vocabSha256, words })],
  ]);
  const bundle = assembleBundle(files, {
    format: 'kiln-bundle',
    format_version: 2,
    classes: CLASSES,
    preprocessing: {
      spec_version: specVersion, max_length: MAX_LENGTH, vocab_size: vocabSize, vocab_sha256: vocabSha256,
    },
    model: { architecture: 'tfidf', hidden_units: HIDDEN_UNITS, weight_encoding: 'float32' },
    metrics: metrics ?? { 'recall@1': 0.5 + seed / 100 },
    lineage: {},
  });
  // The reference for predictions; a refused spec version has none.
  const text = (path) => new TextDecoder().decode(files.get(path));
  const kiln = specVersion === 'kiln-text-1'
    ? createPreprocessor(text('preprocess.json'), text('vocab.json'), text('idf.json')) : null;
  return { ...bundle, model, kiln };
}

/**
 * A manifest for `files` (Map path -> bytes): `fields` plus the size and
 * sha256 of every file, sorted by path. Returns {files, manifest,
 * manifestBytes}.
 */
export function assembleBundle(files, fields) {
  const listed = [...files.keys()].sort().map((path) => ({
    path, size: files.get(path).byteLength, sha256: sha256Hex(files.get(path)),
  }));
  const manifest = { ...fields, files: listed };
  return { files, manifest, manifestBytes: encoder.encode(`${sortedJson(manifest, 2)}\n`) };
}

/** The `k` most probable classes of `text` computed directly with tfjs, the reference for KilnSync.predict. */
export function expectedTop(bundle, text, k) {
  const features = bundle.kiln.preprocess(text);
  const probabilities = tf.tidy(() => bundle.model.predict(tf.tensor2d(features, [1, features.length])).dataSync());
  return [...probabilities]
    .map((probability, i) => ({ label: CLASSES[i], probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, k);
}

/** The keys of one of kiln-sync's object stores, read through a connection of our own. */
export async function storeKeys(dbName, store) {
  const db = await idbRequest(indexedDB.open(dbName));
  try {
    return await idbRequest(db.transaction(store).objectStore(store).getAllKeys());
  } finally {
    db.close();
  }
}

function idbRequest(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

/**
 * The registry's HTTP API from memory. `publish(version, bundle, options)`
 * adds a version and points the alias at it; `fetch` is the function to give
 * KilnSync; `requests` lists {url, path, ifNoneMatch, cache, status} of
 * every call, `paths()` the paths under the version directories fetched.
 */
export class FakeRegistry {
  #versions = new Map(); // version -> {bundle, serve: Map path -> bytes, versionHeader}
  #aliasVersion = null;
  requests = [];

  /**
   * options.serve: {path: bytes} to answer instead of the bundle's own
   * bytes (the manifest still lists the true ones); options.versionHeader:
   * the X-Kiln-Version to send, or null for none (default: the version).
   */
  publish(version, bundle, { serve = {}, versionHeader = String(version) } = {}) {
    this.#versions.set(version, { bundle, serve: new Map(Object.entries(serve)), versionHeader });
    this.#aliasVersion = version;
  }

  /** The ETag the registry sends with a version's manifest: its quoted sha256. */
  etag(version) {
    return `"${sha256Hex(this.#versions.get(version).bundle.manifestBytes)}"`;
  }

  /** The file paths fetched from version directories since the last clear(), in order. */
  paths() {
    return this.requests.filter((r) => r.path !== null).map((r) => r.path);
  }

  clear() {
    this.requests = [];
  }

  fetch = async (url, init = {}) => {
    const headers = new Headers(init.headers);
    const response = this.#answer(new URL(url), headers);
    const version = /\/versions\/(\d+)\/(.+)$/.exec(new URL(url).pathname);
    this.requests.push({
      url,
      path: version ? version[2] : null,
      ifNoneMatch: headers.get('If-None-Match'),
      cache: init.cache,
      status: response.status,
    });
    return response;
  };

  #answer(url, headers) {
    const prefix = `/v1/models/${MODEL}`;
    if (url.origin !== BASE_URL) return notFound(`no such host ${url.origin}`);
    if (url.pathname === `${prefix}/aliases/${ALIAS}/manifest.json`) {
      if (this.#aliasVersion === null) return notFound(`model "${MODEL}" has no alias "${ALIAS}"`);
      const { bundle, versionHeader } = this.#versions.get(this.#aliasVersion);
      const reply = new Headers({ ETag: this.etag(this.#aliasVersion), 'Cache-Control': 'no-cache' });
      if (versionHeader !== null) reply.set('X-Kiln-Version', versionHeader);
      // The registry also takes a list and W/ tags; kiln-sync sends back the one tag it got.
      if (headers.get('If-None-Match') === reply.get('ETag')) {
        return new Response(null, { status: 304, headers: reply });
      }
      reply.set('Content-Type', 'application/json');
      return new Response(bundle.manifestBytes, { status: 200, headers: reply });
    }
    const match = new RegExp(`^${prefix}/versions/(\\d+)/([A-Za-z0-9._-]+)$`).exec(url.pathname);
    const stored = match && this.#versions.get(Number(match[1]));
    if (!stored) return notFound(`no such version or route ${url.pathname}`);
    const path = match[2];
    const bytes = path === 'manifest.json'
      ? stored.bundle.manifestBytes : stored.serve.get(path) ?? stored.bundle.files.get(path);
    if (!bytes) return notFound(`version ${match[1]} of model "${MODEL}" has no file "${path}"`);
    // A stream in small chunks, as over a network, so that kiln-sync reads
    // the body chunk by chunk.
    let offset = 0;
    const body = new ReadableStream({
      pull(controller) {
        if (offset >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + 64));
        offset += 64;
      },
    });
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': path.endsWith('.json') ? 'application/json' : 'application/octet-stream',
        'Content-Length': String(bytes.byteLength),
        'X-Kiln-Version': match[1],
      },
    });
  }
}

function notFound(error) {
  return new Response(JSON.stringify({ error }), { status: 404, headers: { 'Content-Type': 'application/json' } });
}

/** A fetch as the browser's is when the network is down. */
export async function offlineFetch() {
  throw new TypeError('fetch failed');
}
