// kiln-sync: keeps one alias of a Kiln model (docs/bundle.md) in the
// browser's IndexedDB and predicts with it, online or not.
//
//   const sync = new KilnSync({ baseUrl, model: 'news', alias: 'latest', tf });
//   sync.addEventListener('state', (e) => show(e.detail));
//   await sync.start();
//   sync.predict('text of a post', 5);  // [{label, probability}, ...]
//
// An ES module. Besides the `tf` object it is given (@tensorflow/tfjs) it
// imports Kiln's text preprocessing (../text/kiln-preprocess.js and
// kiln-text.js) and ./layers-model-io.js: serve clients/sync and clients/text
// side by side, as clients/web/prepare.sh does.
//
// Storage is content-addressed: a file is kept once per sha256, whatever
// version or alias refers to it, so a new version costs only the files that
// changed. Registry responses bypass the HTTP cache (cache: 'no-store'):
// IndexedDB is the cache, and a corrupted response must not be remembered.
//
// A bundle carries no code: its preprocess.json names the preprocessing
// spec and constants, which this library's copy of kiln-text implements.
// Nothing is evaluated, so a page's Content-Security-Policy needs no
// 'unsafe-eval' (tfjs's WASM backend needs 'wasm-unsafe-eval'). A bundle of
// format 1 (preprocess.js) or of a spec version this library does not
// implement is refused, and the version in use stays.
//
// Tabs: one tab of an app syncs an alias at a time (a Web Lock per registry,
// model and alias), and tells the others through a BroadcastChannel when it
// has switched, so that they load the version from storage instead of
// downloading it again. Without Web Locks or BroadcastChannel every tab
// syncs for itself, which is slower but still correct.

import { createPreprocessor } from '../text/kiln-preprocess.js';
import { layersModelHandler } from './layers-model-io.js';

const DEFAULTS = { alias: 'latest', keep: 2, dbName: 'kiln-sync' };
const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ALIAS_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const FILE_NAME = /^[A-Za-z0-9._-]+$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const ETAG_SHA256 = /^(?:W\/)?"([0-9a-f]{64})"$/;
const REQUIRED_FILES = ['model.json', 'vocab.json', 'preprocess.json'];
const BUNDLE_FORMAT_VERSION = 2;
const VERSION_HEADER = 'X-Kiln-Version';
// How a browser names an IndexedDB write refused for lack of space: the
// standard QuotaExceededError, or (Chromium on a full disk) an UnknownError
// that says so.
const OUT_OF_SPACE_MESSAGE = /space|quota|disk|full/i;

export class KilnSync extends EventTarget {
  #base;
  #model;
  #alias;
  #tf;
  #keep;
  #dbName;
  #fetch;
  #scope;
  #channel = null;
  #db = null;
  #loaded = null; // {version, manifest, model, kiln}
  #etag = null;
  #state;
  #starting = null;
  #syncing = null;
  #onOnline = () => this.#online();
  #onOffline = () => this.#setState({ online: false, status: 'offline', error: null });
  #onBroadcast = (event) => this.#otherTabSwitched(event.data);

  constructor(options) {
    super();
    const { baseUrl, model, tf } = options ?? {};
    const { alias, keep, dbName } = { ...DEFAULTS, ...options };
    if (typeof baseUrl !== 'string' || baseUrl === '') throw new TypeError('KilnSync: baseUrl is required');
    if (!MODEL_NAME.test(model ?? '')) throw new TypeError(`KilnSync: model "${model}" must match ${MODEL_NAME}`);
    if (!ALIAS_NAME.test(alias)) throw new TypeError(`KilnSync: alias "${alias}" must match ${ALIAS_NAME}`);
    if (typeof tf?.loadLayersModel !== 'function') throw new TypeError('KilnSync: tf (@tensorflow/tfjs) is required');
    if (!Number.isInteger(keep) || keep < 1) throw new TypeError('KilnSync: keep must be an integer >= 1');
    // Resolved against the page so that "/" or "" mean "this origin".
    this.#base = new URL(baseUrl, globalThis.location?.href).href.replace(/\/+$/, '');
    this.#model = model;
    this.#alias = alias;
    this.#tf = tf;
    this.#keep = keep;
    this.#dbName = dbName;
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.#scope = `${this.#base}|${model}|${alias}`;
    this.#state = {
      online: isOnline(), status: isOnline() ? 'updating' : 'offline', version: null, error: null, quotaExceeded: null,
    };
  }

  /** The version in use: {version, manifest, metrics}, or null before the first one. */
  get current() {
    const loaded = this.#loaded;
    return loaded && { version: loaded.version, manifest: loaded.manifest, metrics: loaded.manifest.metrics ?? {} };
  }

  /** {online, status, version, error, quotaExceeded}, as last sent with a 'state' event. */
  get state() {
    return { ...this.#state };
  }

  /**
   * Loads the version kept in storage (if any), then syncs when online and
   * again whenever the network returns. Resolves with `current` once both
   * are done; sync failures are reported through 'state', not thrown.
   */
  start() {
    this.#starting ??= (async () => {
      this.#db = await openDatabase(this.#dbName);
      globalThis.addEventListener?.('online', this.#onOnline);
      globalThis.addEventListener?.('offline', this.#onOffline);
      try {
        await this.#loadStored();
      } catch (error) {
        // Storage was evicted or damaged: the network can still fill it.
        this.#setState({ status: 'failed', error: `the stored version is unusable: ${message(error)}` });
      }
      if (typeof BroadcastChannel === 'function') {
        this.#channel = new BroadcastChannel(`kiln-sync:${this.#dbName}`);
        this.#channel.addEventListener('message', this.#onBroadcast);
      }
      if (isOnline()) await this.sync();
      else this.#setState({ online: false, status: 'offline' });
      return this.current;
    })();
    return this.#starting;
  }

  /**
   * Checks the alias once and switches to its version when every file is
   * stored and verified. Calls made while one runs share it. Resolves with
   * the state; never rejects.
   */
  sync() {
    if (!this.#db) return Promise.reject(new Error('KilnSync: call start() first'));
    this.#syncing ??= this.#withAliasLock(async () => {
      const outcome = await this.#withStoreLock('shared', () => this.#syncOnce());
      // Files no kept version refers to: an old version's after a switch, or
      // the new version's partial download after storage ran out (the space
      // is worth more to the device than a resume that cannot finish).
      if (outcome === 'switched' || outcome === 'storage-full') {
        await this.#withStoreLock('exclusive', () => this.#collectGarbage());
      }
      return this.state;
    }).finally(() => {
      this.#syncing = null;
    });
    return this.#syncing;
  }

  /**
   * What the browser reports about this origin's storage: {usage, quota}
   * in bytes from navigator.storage.estimate() and `persisted` from
   * navigator.storage.persisted(); null where the browser does not say.
   * Estimates are approximate (Chromium may report a quota above the one it
   * enforces).
   */
  async storage() {
    const storage = globalThis.navigator?.storage;
    const [estimate, persisted] = await Promise.all([
      storage?.estimate?.().catch(() => null),
      storage?.persisted?.().catch(() => null),
    ]);
    return { usage: estimate?.usage ?? null, quota: estimate?.quota ?? null, persisted: persisted ?? null };
  }

  /** The k most probable classes of `text`: [{label, probability}], most probable first. */
  predict(text, k = 5) {
    const loaded = this.#loaded;
    if (!loaded) throw new Error('KilnSync: no model yet (not synced, and nothing in storage)');
    return loaded.kiln.predict(this.#tf, loaded.model, text, k);
  }

  /** Stops listening to the network, frees the model and closes storage. */
  close() {
    globalThis.removeEventListener?.('online', this.#onOnline);
    globalThis.removeEventListener?.('offline', this.#onOffline);
    this.#channel?.close();
    this.#channel = null;
    this.#loaded?.model.dispose();
    this.#loaded = null;
    this.#db?.close();
    this.#db = null;
    this.#starting = null;
  }

  #online() {
    this.#setState({ online: true });
    if (this.#db) this.sync();
  }

  // Tabs of one app following one alias sync it one at a time, so that the
  // second finds the first one's downloads in place instead of fetching them
  // again. Held for the whole sync.
  #withAliasLock(task) {
    const locks = globalThis.navigator?.locks;
    return locks ? locks.request(`kiln-sync:${this.#dbName}:${this.#scope}`, task) : task();
  }

  // The whole database's lock: every sync holds it shared, the clean-up takes
  // it exclusive only when it is free, so that it never deletes files that a
  // sync of another alias has stored but not yet recorded (that sync's own
  // clean-up comes later).
  #withStoreLock(mode, task) {
    const locks = globalThis.navigator?.locks;
    if (!locks) return task();
    const options = mode === 'shared' ? { mode: 'shared' } : { mode: 'exclusive', ifAvailable: true };
    return locks.request(`kiln-sync:${this.#dbName}`, options, (lock) => (lock ? task() : 'skipped'));
  }

  async #loadStored() {
    const stored = await readStoredVersion(this.#db, this.#scope);
    if (!stored) return;
    const loaded = await this.#instantiate(stored.version, stored.manifest, stored.files);
    this.#etag = stored.etag;
    this.#switchTo(loaded, 'storage');
  }

  // Switches to the version another tab stored for this alias, if it is not
  // the one in use. Under the alias lock, so that it never runs beside this
  // tab's own sync.
  #otherTabSwitched(news) {
    if (!this.#db || news?.scope !== this.#scope || news.version === this.#loaded?.version) return;
    this.#withAliasLock(() => this.#adoptStored()).catch((error) => {
      this.#setState({ status: 'failed', error: `the version another tab stored is unusable: ${message(error)}` });
    });
  }

  async #adoptStored() {
    const stored = await readStoredVersion(this.#db, this.#scope, this.#loaded?.version);
    if (!stored) return;
    const loaded = await this.#instantiate(stored.version, stored.manifest, stored.files);
    this.#etag = stored.etag;
    this.#switchTo(loaded, 'other-tab');
  }

  // One check of the alias; returns 'switched', 'storage-full' or
  // 'unchanged' (up to date, offline or failed: see the state).
  async #syncOnce() {
    this.#setState({ online: isOnline(), status: 'updating', error: null });
    try {
      const switched = await this.#update();
      this.#setState({ status: 'up-to-date' });
      return switched ? 'switched' : 'unchanged';
    } catch (error) {
      if (error instanceof StorageFullError) {
        this.#setState({ status: 'failed', error: error.message, quotaExceeded: error.detail });
        return 'storage-full';
      }
      if (!isOnline()) this.#setState({ online: false, status: 'offline' });
      else this.#setState({ status: 'failed', error: message(error) });
      return 'unchanged';
    }
  }

  // Resolves with true when it switched to a downloaded version.
  async #update() {
    // While this tab waited for the alias lock, another may have stored a
    // newer version: loading it from storage makes the manifest check a 304.
    try {
      await this.#adoptStored();
    } catch {
      // Unusable in storage: the network below stores it again.
    }
    const url = `${this.#base}/v1/models/${this.#model}/aliases/${this.#alias}/manifest.json`;
    const headers = this.#loaded && this.#etag ? { 'If-None-Match': this.#etag } : {};
    const response = await this.#get(url, headers);
    if (response.status === 304) return false;
    if (!response.ok) throw new Error(`${url}: ${await describeHttpError(response)}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const text = new TextDecoder().decode(bytes);
    const etag = response.headers.get('ETag');
    const version = Number(response.headers.get(VERSION_HEADER));
    if (!Number.isSafeInteger(version) || version < 1) {
      throw new Error(`the manifest came without a valid ${VERSION_HEADER} header (a proxy must pass it on)`);
    }
    // The registry's ETag is the manifest's sha256: check it when it has
    // that shape (a proxy may legitimately replace it).
    const etagDigest = ETAG_SHA256.exec(etag ?? '')?.[1];
    if (etagDigest && etagDigest !== (await sha256Hex(bytes))) {
      throw new Error(`the manifest of version ${version} does not match its ETag`);
    }
    const manifest = parseManifest(text, version);
    if (version === this.#loaded?.version) {
      this.#etag = etag;
      await writeOne(this.#db, 'aliases', { scope: this.#scope, version, etag });
      return false;
    }
    const bytesNeeded = await this.#downloadMissing(version, manifest);
    const loaded = await this.#instantiate(version, manifest, await readFiles(this.#db, manifest.files));
    try {
      await this.#commit(version, text, manifest, etag);
    } catch (error) {
      loaded.model.dispose();
      throw isOutOfSpace(error) ? await this.#storageFull(version, bytesNeeded) : error;
    }
    this.#etag = etag;
    this.#switchTo(loaded, 'network');
    this.#channel?.postMessage({ scope: this.#scope, version });
    return true;
  }

  // Fetches and verifies every file of `manifest` that storage lacks, and
  // stores each one as soon as it checks out, so that an update cut short
  // by the network resumes where it stopped. Resolves with the bytes it
  // had to store.
  async #downloadMissing(version, manifest) {
    const held = new Set(await readKeys(this.#db, 'files'));
    const missing = manifest.files.filter((file) => !held.has(file.sha256));
    const progress = {
      version,
      file: null,
      filesDone: 0,
      filesTotal: missing.length,
      bytesDone: 0,
      bytesTotal: missing.reduce((sum, file) => sum + file.size, 0),
    };
    this.#emit('progress', { ...progress });
    for (const file of missing) {
      const base = progress.bytesDone;
      const bytes = await this.#download(version, file, (received) => {
        this.#emit('progress', { ...progress, file: file.path, bytesDone: base + received });
      });
      try {
        await writeOne(this.#db, 'files', { sha256: file.sha256, size: file.size, bytes });
      } catch (error) {
        throw isOutOfSpace(error) ? await this.#storageFull(version, progress.bytesTotal) : error;
      }
      progress.filesDone += 1;
      progress.bytesDone = base + file.size;
      this.#emit('progress', { ...progress, file: file.path });
    }
    return progress.bytesTotal;
  }

  async #storageFull(version, bytesNeeded) {
    const { usage, quota } = await this.storage();
    return new StorageFullError({ version, bytesNeeded, usage, quota });
  }

  async #download(version, file, onBytes) {
    const url = `${this.#base}/v1/models/${this.#model}/versions/${version}/${file.path}`;
    const response = await this.#get(url, {});
    if (!response.ok) throw new Error(`${file.path} of version ${version}: ${await describeHttpError(response)}`);
    // Read into a buffer of the announced size: a response that runs over
    // is refused before it can use up memory.
    const bytes = new Uint8Array(file.size);
    let received = 0;
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (received + value.length > file.size) {
        await reader.cancel();
        throw new Error(`${file.path} of version ${version} is larger than the ${file.size} bytes the manifest lists`);
      }
      bytes.set(value, received);
      received += value.length;
      onBytes(received);
    }
    if (received !== file.size) {
      throw new Error(`${file.path} of version ${version} has ${received} bytes, the manifest lists ${file.size}`);
    }
    const digest = await sha256Hex(bytes);
    if (digest !== file.sha256) {
      throw new Error(`${file.path} of version ${version} failed its sha256 check ` +
                      `(expected ${file.sha256.slice(0, 12)}…, got ${digest.slice(0, 12)}…)`);
    }
    return bytes.buffer;
  }

  #get(url, headers) {
    return this.#fetch(url, { headers, cache: 'no-store', credentials: 'omit' });
  }

  // The model, vocabulary and preprocessing of one version, ready to
  // predict: a test prediction runs before anything switches, so a version
  // that cannot run never replaces one that can.
  async #instantiate(version, manifest, files) {
    const text = (path) => new TextDecoder().decode(files.get(path));
    let kiln;
    try {
      // idf.json: tfidf models only (the manifest lists it with the rest,
      // so it was fetched, checked and stored like them).
      kiln = createPreprocessor(text('preprocess.json'), text('vocab.json'),
        files.has('idf.json') ? text('idf.json') : undefined);
      if (JSON.stringify(kiln.classes) !== JSON.stringify(manifest.classes)) {
        throw new Error('preprocess.json lists other classes than the manifest');
      }
    } catch (error) {
      throw new Error(`version ${version} does not load: ${message(error)}`);
    }
    const model = await this.#tf.loadLayersModel(
      layersModelHandler(JSON.parse(text('model.json')), (path) => files.get(path)));
    try {
      // Warms the backend up (kernels, WASM or shaders) before the switch,
      // so the page's first prediction is as fast as the rest.
      kiln.predict(this.#tf, model, '', 1);
      return { version, manifest, model, kiln };
    } catch (error) {
      model.dispose();
      throw new Error(`version ${version} does not load: ${message(error)}`);
    }
  }

  // Records `version` and points the alias at it, and forgets all but this
  // alias's `keep` most recently used versions; in one transaction.
  async #commit(version, manifestText, manifest, etag) {
    const tx = this.#db.transaction(['aliases', 'versions'], 'readwrite');
    const aliases = tx.objectStore('aliases');
    const versions = tx.objectStore('versions');
    const others = (await request(versions.getAll(IDBKeyRange.bound([this.#scope, 0], [this.#scope, Infinity]))))
      .filter((record) => record.version !== version);
    // Later than every other activation even when the clock stands still or
    // went back, so that the order of use is the order of activation.
    const activatedAt = Math.max(Date.now(), ...others.map((record) => record.activatedAt + 1));
    versions.put({
      scope: this.#scope,
      version,
      manifest: manifestText,
      shas: manifest.files.map((file) => file.sha256),
      activatedAt,
    });
    aliases.put({ scope: this.#scope, version, etag });
    others.sort((a, b) => b.activatedAt - a.activatedAt);
    const dropped = new Set(others.slice(this.#keep - 1).map((record) => record.version));
    for (const old of dropped) versions.delete([this.#scope, old]);
    await transactionDone(tx);
  }

  // Deletes every file that no recorded version (of any alias or model in
  // this database) refers to. Called with the database's lock held
  // exclusively.
  async #collectGarbage() {
    const tx = this.#db.transaction(['versions', 'files'], 'readwrite');
    const files = tx.objectStore('files');
    const referenced = new Set();
    for (const record of await request(tx.objectStore('versions').getAll())) {
      for (const sha of record.shas) referenced.add(sha);
    }
    for (const sha of await request(files.getAllKeys())) {
      if (!referenced.has(sha)) files.delete(sha);
    }
    await transactionDone(tx);
  }

  #switchTo(loaded, source) {
    const previous = this.#loaded;
    this.#loaded = loaded;
    previous?.model.dispose();
    this.#setState({ version: loaded.version });
    this.#emit('version', {
      version: loaded.version,
      previous: previous?.version ?? null,
      manifest: loaded.manifest,
      metrics: loaded.manifest.metrics ?? {},
      source,
    });
  }

  #setState(change) {
    this.#state = { ...this.#state, ...change };
    if (this.#state.status !== 'failed') this.#state.error = null;
    if (this.#state.error === null) this.#state.quotaExceeded = null;
    this.#emit('state', this.state);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

// A version that does not fit in the storage the browser grants; `detail`
// is state.quotaExceeded.
class StorageFullError extends Error {
  constructor(detail) {
    const { version, bytesNeeded, usage, quota } = detail;
    const known = usage !== null && quota !== null
      ? ` (the browser reports ${formatBytes(usage)} used of a ${formatBytes(quota)} quota)` : '';
    super(`not enough storage on this device for version ${version}: it needs ${formatBytes(bytesNeeded)} ` +
          `(${bytesNeeded} bytes) for the files not already stored, and the browser refused to store them${known}; ` +
          'free some space for this site, then check again');
    this.detail = detail;
  }
}

function isOutOfSpace(error) {
  return error?.name === 'QuotaExceededError' ||
    (error?.name === 'UnknownError' && OUT_OF_SPACE_MESSAGE.test(error.message ?? ''));
}

function formatBytes(bytes) {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

function isOnline() {
  return globalThis.navigator?.onLine ?? true;
}

function message(error) {
  if (error instanceof TypeError && /fetch|network/i.test(error.message)) {
    return `cannot reach the registry (${error.message})`;
  }
  return error?.message ?? String(error);
}

async function describeHttpError(response) {
  // The registry answers errors as {"error": "..."}.
  const body = await response.text().catch(() => '');
  let detail = '';
  try {
    detail = JSON.parse(body).error ?? '';
  } catch {
    detail = body.slice(0, 200);
  }
  return `HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
}

async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function parseManifest(text, version) {
  let manifest;
  try {
    manifest = JSON.parse(text);
  } catch (error) {
    throw new Error(`the manifest is not JSON: ${error.message}`);
  }
  if (manifest?.format !== 'kiln-bundle' || !Number.isInteger(manifest.format_version)) {
    throw new Error('the manifest is not a kiln-bundle manifest');
  }
  if (manifest.format_version === 1) {
    throw new Error(`version ${version} is a bundle of format 1, whose preprocessing is code (preprocess.js) ` +
                    'that this library does not run: publish the model again with a Kiln that writes format 2');
  }
  if (manifest.format_version !== BUNDLE_FORMAT_VERSION) {
    throw new Error(`version ${version} is a bundle of format ${manifest.format_version}, and this library reads format ` +
                    `${BUNDLE_FORMAT_VERSION}: update the app's Kiln libraries (clients/sync, clients/text)`);
  }
  if (!Array.isArray(manifest.classes) || !Array.isArray(manifest.files)) {
    throw new Error('the manifest lacks classes or files');
  }
  for (const file of manifest.files) {
    if (!FILE_NAME.test(file?.path ?? '') || !SHA256_HEX.test(file.sha256 ?? '') ||
        !Number.isSafeInteger(file.size) || file.size < 0) {
      throw new Error(`the manifest has a malformed file entry ${JSON.stringify(file)}`);
    }
  }
  for (const path of REQUIRED_FILES) {
    if (!manifest.files.some((file) => file.path === path)) throw new Error(`the manifest lists no ${path}`);
  }
  return manifest;
}

// IndexedDB, promised. Stores: files (sha256 -> bytes), versions
// ([scope, version] -> manifest), aliases (scope -> version in use, ETag);
// a scope is one baseUrl + model + alias.
function openDatabase(name) {
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => {
    const db = open.result;
    db.createObjectStore('files', { keyPath: 'sha256' });
    db.createObjectStore('versions', { keyPath: ['scope', 'version'] });
    db.createObjectStore('aliases', { keyPath: 'scope' });
  };
  return request(open);
}

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// A failed request aborts its transaction, and only then is tx.error set:
// waiting for the abort (not the request's error event) rejects with the
// real error, e.g. QuotaExceededError.
function transactionDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

// The version an alias points at, with its manifest and files, read in one
// transaction so that no clean-up can run between them; null when none, or
// when it is `unlessVersion` (the one already loaded).
async function readStoredVersion(db, scope, unlessVersion = null) {
  const tx = db.transaction(['aliases', 'versions', 'files']);
  const pointer = await request(tx.objectStore('aliases').get(scope));
  if (!pointer || pointer.version === unlessVersion) return null;
  const record = await request(tx.objectStore('versions').get([scope, pointer.version]));
  if (!record) throw new Error(`version ${pointer.version} has no record`);
  const manifest = JSON.parse(record.manifest);
  const files = await readFilesIn(tx.objectStore('files'), manifest.files);
  return { version: pointer.version, etag: pointer.etag, manifest, files };
}

function readKeys(db, store) {
  return request(db.transaction(store).objectStore(store).getAllKeys());
}

async function writeOne(db, store, value) {
  const tx = db.transaction(store, 'readwrite');
  tx.objectStore(store).put(value);
  await transactionDone(tx);
}

// Map path -> ArrayBuffer of the listed files, all read in one transaction.
function readFiles(db, entries) {
  return readFilesIn(db.transaction('files').objectStore('files'), entries);
}

async function readFilesIn(store, entries) {
  const records = await Promise.all(entries.map((entry) => request(store.get(entry.sha256))));
  const files = new Map();
  entries.forEach((entry, i) => {
    if (!records[i]) throw new Error(`${entry.path} is missing from storage`);
    files.set(entry.path, records[i].bytes);
  });
  return files;
}
