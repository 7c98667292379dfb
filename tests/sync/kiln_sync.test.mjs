// Unit tests of the browser sync library, clients/sync/kiln-sync.js, in
// node: a registry served from memory (fake_registry.mjs), IndexedDB from
// fake-indexeddb and the real @tensorflow/tfjs on its cpu backend. Node has
// no `navigator`, so there are no Web Locks (each task runs directly) and
// the library believes itself online.
//
//   node --test tests/sync/
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import {
  ALIAS, BASE_URL, CLASSES, FakeRegistry, MODEL, SCOPE, WORDS, assembleBundle, buildBundle, expectedTop,
  offlineFetch, storeKeys, tf,
} from './fake_registry.mjs';
import { KilnSync } from '../../clients/sync/kiln-sync.js';

const TEXT = 'The rocket left orbit; NASA rendered an image of the church';
const OTHER_TEXT = 'faith and god, and the pixel';

// Bundles shared by the tests (building them costs tfjs work): v1 and v2
// differ in their weights only, v3 in weights again; `newVocab` has a
// larger vocabulary, so that every one of its files differs from v1's.
let v1;
let v2;
let v3;
let newVocab;

before(async () => {
  await tf.setBackend('cpu');
  [v1, v2, v3, newVocab] = await Promise.all([
    buildBundle({ seed: 1 }),
    buildBundle({ seed: 2 }),
    buildBundle({ seed: 3 }),
    buildBundle({ seed: 4, words: [...WORDS, 'shuttle', 'prayer'] }),
  ]);
});

after(() => {
  for (const bundle of [v1, v2, v3, newVocab]) bundle?.model.dispose();
});

// A database of its own per KilnSync setup, so that no test sees another's.
let databases = 0;
function freshDbName(t) {
  databases += 1;
  return `kiln-sync-test-${databases}-${t.name.replace(/\W+/g, '-')}`;
}

// A KilnSync closed when the test ends, pass or fail (an open
// BroadcastChannel would keep node running).
function newSync(t, options) {
  const sync = new KilnSync({ baseUrl: BASE_URL, model: MODEL, alias: ALIAS, tf, ...options });
  t.after(() => sync.close());
  return sync;
}

function events(sync, type) {
  const seen = [];
  sync.addEventListener(type, (event) => seen.push(event.detail));
  return seen;
}

function shas(bundle) {
  return bundle.manifest.files.map((file) => file.sha256);
}

// The files of `next` that a holder of `previous` lacks, in manifest order.
function missingFiles(previous, next) {
  const held = new Set(shas(previous));
  return next.manifest.files.filter((file) => !held.has(file.sha256));
}

function sorted(values) {
  return [...values].sort();
}

function assertPredictsLike(sync, bundle) {
  for (const text of [TEXT, OTHER_TEXT]) {
    const got = sync.predict(text, 2);
    const want = expectedTop(bundle, text, 2);
    assert.deepEqual(got.map((c) => c.label), want.map((c) => c.label), `labels for "${text}"`);
    got.forEach((c, i) => assert.ok(Math.abs(c.probability - want[i].probability) < 1e-6,
      `probability of ${c.label} for "${text}": ${c.probability}, tfjs says ${want[i].probability}`));
  }
}

// A registry at version 1 and a KilnSync that has synced it.
async function syncedToV1(t, options = {}) {
  const registry = new FakeRegistry();
  registry.publish(1, v1);
  const dbName = freshDbName(t);
  const sync = newSync(t, { fetch: registry.fetch, dbName, ...options });
  await sync.start();
  assert.equal(sync.current?.version, 1, `synced version 1 (state ${JSON.stringify(sync.state)})`);
  registry.clear();
  return { registry, sync, dbName };
}

test('start() on an empty database syncs version 1 and predicts like tfjs', async (t) => {
  const registry = new FakeRegistry();
  registry.publish(1, v1);
  const dbName = freshDbName(t);
  const sync = newSync(t, { fetch: registry.fetch, dbName });
  const versions = events(sync, 'version');

  const current = await sync.start();

  assert.equal(current?.version, 1, `state ${JSON.stringify(sync.state)}`);
  assert.equal(sync.current.version, 1);
  assert.deepEqual(sync.current.metrics, v1.manifest.metrics);
  assert.equal(sync.state.status, 'up-to-date');
  assert.equal(sync.state.version, 1);
  assert.equal(sync.state.error, null);
  assert.deepEqual(versions.map(({ version, previous, source }) => ({ version, previous, source })),
    [{ version: 1, previous: null, source: 'network' }]);
  // The manifest, unconditionally (there is nothing to revalidate), then
  // every listed file exactly once; all past the HTTP cache.
  assert.equal(registry.requests[0].url, `${BASE_URL}/v1/models/${MODEL}/aliases/${ALIAS}/manifest.json`);
  assert.equal(registry.requests[0].ifNoneMatch, null);
  assert.deepEqual(sorted(registry.paths()), sorted(v1.manifest.files.map((file) => file.path)));
  assert.equal(registry.requests.length, 1 + v1.manifest.files.length);
  assert.ok(registry.requests.every((r) => r.status === 200 && r.cache === 'no-store'),
    JSON.stringify(registry.requests));
  assert.deepEqual(sorted(await storeKeys(dbName, 'files')), sorted(shas(v1)));

  const top = sync.predict(TEXT, 2);
  assert.equal(top.length, 2);
  assert.ok(top.every((c) => CLASSES.includes(c.label) && c.probability >= 0 && c.probability <= 1));
  assert.ok(top[0].probability >= top[1].probability);
  assert.deepEqual(sorted(sync.predict(TEXT, 3).map((c) => c.label)), sorted(CLASSES));
  assertPredictsLike(sync, v1);
});

test('offline, a second KilnSync on the same database loads version 1 from storage', async (t) => {
  const { sync: first, dbName } = await syncedToV1(t);
  first.close(); // as a page reload would
  let attempts = 0;
  const sync = newSync(t, {
    dbName,
    fetch: (...args) => {
      attempts += 1;
      return offlineFetch(...args);
    },
  });
  const versions = events(sync, 'version');

  await sync.start();

  assert.equal(sync.current?.version, 1);
  assert.deepEqual(versions.map(({ version, previous, source }) => ({ version, previous, source })),
    [{ version: 1, previous: null, source: 'storage' }]);
  // Node has no navigator.onLine, so the library tried the network and
  // says why it failed; the stored version stays in use.
  assert.ok(attempts >= 1);
  assert.equal(sync.state.status, 'failed');
  assert.match(sync.state.error, /cannot reach the registry \(fetch failed\)/);
  assert.equal(sync.state.version, 1);
  assertPredictsLike(sync, v1);
});

test('a version with new weights fetches only the changed shard, then revalidates with a 304', async (t) => {
  const { registry, sync } = await syncedToV1(t);
  const versions = events(sync, 'version');
  const changed = missingFiles(v1, v2).map((file) => file.path);
  // The fixture itself: only the weights differ, so model.json is the same too.
  assert.deepEqual(changed, ['group1-shard1of1.bin']);

  registry.publish(2, v2);
  const state = await sync.sync();

  assert.equal(state.status, 'up-to-date', state.error);
  assert.equal(state.version, 2);
  assert.equal(sync.current.version, 2);
  assert.equal(registry.requests[0].ifNoneMatch, registry.etag(1));
  assert.deepEqual(registry.paths(), changed);
  assert.deepEqual(versions.map(({ version, previous, source }) => ({ version, previous, source })),
    [{ version: 2, previous: 1, source: 'network' }]);
  assertPredictsLike(sync, v2);
  // Else the check above could not tell version 2 from version 1.
  assert.notDeepEqual(expectedTop(v2, TEXT, 3), expectedTop(v1, TEXT, 3));

  registry.clear();
  const again = await sync.sync();

  assert.deepEqual(registry.requests.map(({ ifNoneMatch, status }) => ({ ifNoneMatch, status })),
    [{ ifNoneMatch: registry.etag(2), status: 304 }]);
  assert.equal(again.status, 'up-to-date');
  assert.equal(again.version, 2);
  assert.equal(versions.length, 1);
});

test('a file that fails its sha256 check is refused and the version in use stays', async (t) => {
  const { registry, sync, dbName } = await syncedToV1(t);
  const before = sync.predict(TEXT, 3);
  // Same size, one byte off: only the digest can catch it.
  const corrupt = v2.files.get('group1-shard1of1.bin').slice();
  corrupt[0] ^= 0xff;
  registry.publish(2, v2, { serve: { 'group1-shard1of1.bin': corrupt } });

  const state = await sync.sync();

  assert.equal(state.status, 'failed');
  assert.match(state.error, /^group1-shard1of1\.bin of version 2 failed its sha256 check/);
  assert.equal(state.version, 1);
  assert.equal(sync.current.version, 1);
  assert.deepEqual(sync.predict(TEXT, 3), before);
  assert.deepEqual(sorted(await storeKeys(dbName, 'files')), sorted(shas(v1)));

  // Nothing of the bad download was kept: once the registry serves the
  // right bytes, the next check switches.
  registry.publish(2, v2);
  assert.equal((await sync.sync()).version, 2);
  assertPredictsLike(sync, v2);
});

test('a bundle of format 1 is refused and the version in use stays', async (t) => {
  const { registry, sync } = await syncedToV1(t);
  const before = sync.predict(TEXT, 3);
  const files = new Map(v2.files);
  files.delete('preprocess.json');
  files.set('preprocess.js', new TextEncoder().encode('var kilnPreprocess = function (text) { return []; };\n'));
  const { files: _, ...fields } = v2.manifest;
  registry.publish(2, assembleBundle(files, { ...fields, format_version: 1 }));

  const state = await sync.sync();

  assert.equal(state.status, 'failed');
  assert.match(state.error,
    /^version 2 is a bundle of format 1, whose preprocessing is code \(preprocess\.js\)/);
  assert.equal(state.version, 1);
  assert.equal(sync.current.version, 1);
  // Refused from the manifest alone.
  assert.deepEqual(registry.paths(), []);
  assert.deepEqual(sync.predict(TEXT, 3), before);
});

test('a bundle of an unknown preprocessing spec version is refused with a message naming both', async (t) => {
  const { registry, sync } = await syncedToV1(t);
  const before = sync.predict(TEXT, 3);
  const future = await buildBundle({ seed: 2, specVersion: 'kiln-text-99' });
  t.after(() => future.model.dispose());
  registry.publish(2, future);

  const state = await sync.sync();

  assert.equal(state.status, 'failed');
  assert.equal(state.error, "version 2 does not load: the bundle's text preprocessing is kiln-text-99, and this " +
    "library implements kiln-text-1 only: update the app's Kiln libraries (clients/sync, clients/text) to one " +
    'that implements it');
  assert.ok(registry.paths().includes('preprocess.json'), 'refused for its content, after downloading it');
  assert.equal(state.version, 1);
  assert.equal(sync.current.version, 1);
  assert.deepEqual(sync.predict(TEXT, 3), before);
  assertPredictsLike(sync, v1);
});

test('keep: 2 keeps the files of the two latest versions only', async (t) => {
  const { registry, sync, dbName } = await syncedToV1(t, { keep: 2 });
  for (const [version, bundle] of [[2, v2], [3, v3]]) {
    // Versions are ranked by when they were activated (Date.now()): let the
    // clock move on between them.
    await delay(5);
    registry.publish(version, bundle);
    const state = await sync.sync();
    assert.equal(state.version, version, state.error);
  }

  const files = await storeKeys(dbName, 'files');

  assert.deepEqual(sorted(files), sorted(new Set([...shas(v2), ...shas(v3)])));
  assert.ok(!files.includes(v1.manifest.files.find((f) => f.path === 'group1-shard1of1.bin').sha256));
  assert.deepEqual(await storeKeys(dbName, 'versions'), [[SCOPE, 2], [SCOPE, 3]]);
  assertPredictsLike(sync, v3);
});

// Versions were once ranked by Date.now() alone: two activations in one
// millisecond, or a clock set back, kept the older version and dropped the
// newer one.
test('keep: 2 keeps the two latest versions when the clock stands still', async (t) => {
    const realNow = Date.now;
    const frozen = realNow();
    Date.now = () => frozen;
    t.after(() => {
      Date.now = realNow;
    });
    const { registry, sync, dbName } = await syncedToV1(t, { keep: 2 });
    for (const [version, bundle] of [[2, v2], [3, v3]]) {
      registry.publish(version, bundle);
      assert.equal((await sync.sync()).version, version);
    }

    assert.deepEqual(await storeKeys(dbName, 'versions'), [[SCOPE, 2], [SCOPE, 3]]);
  });

// How IndexedDB refuses a write for lack of space: `put()` throwing, the
// transaction aborting with the error (as Chromium does when the disk fills
// at commit), or the write's request failing with it (the spec's path for
// a failed request: an error event at the request that bubbles to the
// transaction, whose `error` is set only by the abort that follows). The
// last two use fake-indexeddb internals (_abort, _execRequestAsync: the
// package is pinned), the way it fails requests and transactions itself.
const REFUSALS = [
  {
    how: 'put() throws QuotaExceededError',
    refuse() {
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    },
  },
  {
    how: 'the transaction aborts with QuotaExceededError',
    refuse(put, ...args) {
      const request = put.apply(this, args);
      this.transaction._abort('QuotaExceededError');
      return request;
    },
  },
  {
    how: 'the put request fails with QuotaExceededError',
    // Rejecting on the transaction's 'error' event, while tx.error is still
    // null, once made state.error "null" with no quotaExceeded.
    refuse() {
      return this.transaction._execRequestAsync({
        source: this,
        operation: () => {
          throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        },
      });
    },
  },
];

for (const { how, refuse } of REFUSALS) {
  test(`storage full (${how}): reports the space needed, keeps the old version, drops the partial download`,
    async (t) => {
      const { registry, sync, dbName } = await syncedToV1(t);
      const before = sync.predict(TEXT, 3);
      // Every file of newVocab is new; the write of the last one is refused,
      // after the others have been stored.
      const missing = missingFiles(v1, newVocab);
      assert.ok(missing.length >= 3, 'the fixture has several new files');
      const refused = missing.at(-1).sha256;
      const written = [];
      const { put } = IDBObjectStore.prototype;
      IDBObjectStore.prototype.put = function (value, ...rest) {
        if (this.name === 'files' && value?.sha256 === refused) return refuse.call(this, put, value, ...rest);
        if (this.name === 'files') written.push(value.sha256);
        return put.call(this, value, ...rest);
      };
      registry.publish(2, newVocab);
      let state;
      try {
        state = await sync.sync();
      } finally {
        IDBObjectStore.prototype.put = put;
      }

      assert.equal(state.status, 'failed');
      assert.ok(state.error.startsWith('not enough storage on this device for version 2'), state.error);
      const bytesNeeded = missing.reduce((sum, file) => sum + file.size, 0);
      assert.deepEqual(state.quotaExceeded, { version: 2, bytesNeeded, usage: null, quota: null });
      assert.deepEqual(sync.state.quotaExceeded, state.quotaExceeded);
      assert.equal(state.version, 1);
      assert.equal(sync.current.version, 1);
      assert.deepEqual(sync.predict(TEXT, 3), before);
      assertPredictsLike(sync, v1);
      // Some of version 2 was stored, and deleted again.
      assert.deepEqual(written, missing.slice(0, -1).map((file) => file.sha256));
      assert.deepEqual(sorted(await storeKeys(dbName, 'files')), sorted(shas(v1)));
    });
}

test('a manifest without a valid X-Kiln-Version header is refused', async (t) => {
  for (const header of [null, '', 'two', '0', '1.5']) {
    await t.test(`X-Kiln-Version: ${JSON.stringify(header)}`, async (st) => {
      const registry = new FakeRegistry();
      registry.publish(1, v1, { versionHeader: header });
      const sync = newSync(st, { fetch: registry.fetch, dbName: freshDbName(st) });

      await sync.start();

      assert.equal(sync.state.status, 'failed');
      assert.match(sync.state.error, /X-Kiln-Version/);
      assert.equal(sync.current, null);
      assert.deepEqual(registry.paths(), []);
    });
  }
});
