// K5 acceptance: the web app (clients/web) and its sync library
// (clients/sync) in headless Chromium against a real stack from
// deploy/quickstart.sh, whose registry serves the app and has the test
// corruption switch on; then the npm package export in node.
//
// One browser page lives through the tests in order: first visit, offline
// reload, short texts offline, a new version picked up when back online, a
// corrupted download, a version that does not fit a small storage quota,
// a second tab syncing beside it, a bundle whose preprocessing spec the
// library does not implement (K12), all under the page's own strict
// Content-Security-Policy (no 'unsafe-eval'). The quickstart's model has the
// default architecture, tfidf (K10): its idf.json travels, is stored and is
// used like the rest.
// Screenshots go to $KILN_BINARY_DIR/tests/web/artifacts.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';

import { chromium } from 'playwright-core';

import { buildDir, repoRoot, startStack, waitFor } from '../e2e/stack.mjs';

const artifacts = join(buildDir, 'tests/web/artifacts');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ALIAS = 'production';

const SPACE_POST = `Subject: Re: shuttle launch schedule
The next shuttle launch was delayed again: NASA says the orbiter needs new
tiles on its heat shield before it can go back into orbit. Meanwhile the
satellite they were supposed to deploy is waiting at the Cape, and the moon
and Mars missions lost funding. Does anyone know the new launch date, and
whether the solid rocket boosters are the redesigned ones?`;

// The parity check of K12: this many test posts of the quickstart's model,
// spread over its topics, must get kiln predict's top topic from the page,
// the npm package in node and the package's browser.mjs.
const PARITY_POSTS = 100;
// JavaScript that evaluates strings as code; none of Kiln's shipped files
// may hold it.
const EVAL_PATTERN = /\beval\s*\(|\bFunction\s*\(|\b(setTimeout|setInterval)\s*\(\s*['"`]/;

let stack;
let browser;
let context;
let page;
const requests = [];
// The npm package's consumer project, and the version it holds.
let npmDir;
let npmVersion;
// {texts, cli}: the parity posts and kiln predict's top topic of each.
let parity;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  stack = await startStack({ env: { KILN_TEST_CORRUPT_ONCE: 'true' } });
  promote(1);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  // Every page of the context records what its CSP blocked.
  await context.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (event) => {
      window.cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || 'inline code'}`);
    });
  });
  page = await context.newPage();
  watch(page);
});

// Every request of `tab` goes to `requests`; its errors to the log.
function watch(tab) {
  tab.on('request', (request) => requests.push(new URL(request.url()).pathname));
  tab.on('pageerror', (error) => console.log(`page error: ${error.message}`));
}

after(async () => {
  await browser?.close();
  if (npmDir) rmSync(npmDir, { recursive: true, force: true });
  if (stack) {
    stack.stop();
    stack.remove();
  }
});

function promote(version) {
  const promoted = stack.run(['promote', 'news', String(version), '--alias', ALIAS]);
  assert.equal(promoted.status, 0, promoted.stderr);
}

// Trains a new version of news and promotes it; returns its number.
// Asynchronously: a blocked event loop would miss the registry closing idle
// keep-alive connections, and the next fetch would fail on one.
async function publishNewVersion(epochs) {
  await promisify(execFile)(join(buildDir, 'clients/cli/kiln'), ['train', '--model', 'news', '--epochs', String(epochs)],
    { env: stack.cliEnv, maxBuffer: 64 << 20 });
  const model = await (await fetch(`${stack.httpBase}/v1/models/news`)).json();
  promote(model.latest_version);
  return model.latest_version;
}

async function manifest(version) {
  return (await fetch(`${stack.httpBase}/v1/models/news/versions/${version}/manifest.json`)).json();
}

// Paths of `newer`'s files whose content `older` lacks, in manifest order.
async function changedFiles(older, newer) {
  const held = new Set((await manifest(older)).files.map((file) => file.sha256));
  return (await manifest(newer)).files.filter((file) => !held.has(file.sha256)).map((file) => file.path);
}

// How often each file of `version` was requested since `from` (an index
// into `requests`).
function fileRequests(version, from) {
  const prefix = `/v1/models/news/versions/${version}/`;
  const counts = {};
  for (const path of requests.slice(from)) {
    if (path.startsWith(prefix)) counts[path.slice(prefix.length)] = (counts[path.slice(prefix.length)] ?? 0) + 1;
  }
  return counts;
}

function syncState() {
  return page.evaluate(() => window.kilnApp.sync.state);
}

async function waitForSync(predicate, arg, timeout = 120000) {
  await page.waitForFunction(predicate, arg, { timeout });
}

function cliTopTopic(version, text) {
  return stack.json(['predict', `news:${version}`, text, '-k', '1']).topics[0].topic;
}

// The top topic the page shows for `text`, typed into an emptied box so
// that no earlier result can pass for it.
async function topTopic(text) {
  await page.fill('#text', '');
  await page.waitForFunction(() => document.querySelector('#topics li') === null);
  await page.fill('#text', text);
  await page.waitForFunction(() => document.querySelector('#topics li .name') !== null);
  return page.textContent('#topics li .name');
}

async function storedFiles(tab = page) {
  return tab.evaluate(() => new Promise((resolve, reject) => {
    const open = indexedDB.open('kiln-sync');
    open.onerror = () => reject(open.error);
    open.onsuccess = () => {
      const keys = open.result.transaction('files').objectStore('files').getAllKeys();
      keys.onsuccess = () => {
        open.result.close();
        resolve(keys.result);
      };
    };
  }));
}

test('first visit online: the model syncs and classifies a sci.space post', async () => {
  await page.goto(`${stack.httpBase}/?alias=${ALIAS}`);
  await waitForSync(() => window.kilnApp?.sync.state.status === 'up-to-date' && window.kilnApp.sync.current?.version === 1);
  assert.equal(await topTopic(SPACE_POST), 'sci.space');
  assert.match(await page.textContent('#sync'), /up to date \(version 1\)/);
  assert.equal(await page.textContent('#model-version'), '1');
  assert.match(await page.textContent('#recall-1'), /^\d+\.\d%$/);
  assert.equal(await page.locator('#topics li').count(), 5);
  await page.waitForFunction(() => document.querySelectorAll('#chart circle').length === 1);
  // Persistent storage asked for once the model is stored; usage and quota shown.
  await page.waitForFunction(() => localStorage.getItem('kiln-web:persist-asked') !== null);
  await page.waitForFunction(() => / used of .* · /.test(document.querySelector('#storage').textContent));
  // Every file once, nothing else; a tfidf model's idf.json among them.
  const v1 = await manifest(1);
  assert.equal(v1.model.architecture, 'tfidf');
  assert.ok(v1.files.some((file) => file.path === 'idf.json'), 'version 1 ships idf.json');
  assert.deepEqual(fileRequests(1, 0), Object.fromEntries(v1.files.map((file) => [file.path, 1])));
  assert.equal(await page.evaluate(() => window.kilnApp.sync.current.manifest.model.architecture),
    'tfidf');
  // The page runs under its own strict CSP, and nothing was blocked.
  const csp = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', 'content');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval'/);
  assert.doesNotMatch(csp, /'unsafe-eval'|'unsafe-inline'/);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  const timings = await page.evaluate(() => window.kilnApp.timings);
  assert.equal(typeof timings.lastByteToFirstPrediction, 'number');
  console.log(`# first visit (tfjs backend ${await page.evaluate(() => window.tf.getBackend())}): last byte of the ` +
              `download to first prediction ${timings.lastByteToFirstPrediction.toFixed(0)} ms`);
  // The service worker must hold the shell before the network goes away.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true));
  await page.screenshot({ path: join(artifacts, 'first-visit.png'), fullPage: true });
  // A phone's width: one column, nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 390), 'no horizontal scrolling');
  await page.screenshot({ path: join(artifacts, 'phone.png'), fullPage: true });
  await page.setViewportSize({ width: 1100, height: 800 });
});

test('offline: a reload loads the page and predicts from storage', async () => {
  await context.setOffline(true);
  const from = requests.length;
  await page.reload();
  await waitForSync(() => window.kilnApp?.sync.current?.version === 1);
  assert.equal((await syncState()).status, 'offline');
  assert.match(await page.textContent('#sync'), /Offline · using version 1 from this device/);
  assert.equal(await topTopic(SPACE_POST), 'sci.space');
  assert.deepEqual(fileRequests(1, from), {}, 'nothing is downloaded again');
  // Every file of version 1, idf.json included, came from IndexedDB.
  const stored = new Set(await storedFiles());
  for (const file of (await manifest(1)).files) {
    assert.ok(stored.has(file.sha256), `${file.path} is stored`);
  }

  // Measured, not asserted: storage -> first prediction (open IndexedDB,
  // read, load the model, run preprocess.js, predict), then predictions.
  const timings = await page.evaluate((text) => {
    const times = [];
    for (let i = 0; i < 50; i++) {
      const start = performance.now();
      window.kilnApp.sync.predict(`${text} ${i}`, 5);
      times.push(performance.now() - start);
    }
    times.sort((a, b) => a - b);
    return {
      storageToFirstPrediction: window.kilnApp.timings.storageToFirstPrediction,
      medianPredict: times[times.length >> 1],
      backend: window.tf.getBackend(),
    };
  }, SPACE_POST);
  console.log(`# headless Chromium (tfjs backend ${timings.backend}): storage to first prediction ` +
              `${timings.storageToFirstPrediction.toFixed(0)} ms, median predict ${timings.medianPredict.toFixed(2)} ms`);

  // Measured, not asserted: five more loads from storage, each in a new tab
  // (K12's start-up figure is their median).
  const loads = [];
  for (let i = 0; i < 5; i++) {
    const tab = await context.newPage();
    watch(tab);
    try {
      await tab.goto(`${stack.httpBase}/?alias=${ALIAS}`);
      await tab.waitForFunction(() => window.kilnApp?.timings.storageToFirstPrediction !== null);
      loads.push(await tab.evaluate(() => ({ ...window.kilnApp.timings })));
    } finally {
      await tab.close();
    }
  }
  const median = (values) => values.sort((a, b) => a - b)[values.length >> 1];
  console.log(`# 5 loads from storage in new tabs, median: storage to first prediction ` +
              `${median(loads.map((l) => l.storageToFirstPrediction)).toFixed(0)} ms, navigation to first prediction ` +
              `${median(loads.map((l) => l.navigationToFirstPrediction)).toFixed(0)} ms`);

  // The backends side by side on the same stored model (K12): the first
  // prediction after switching (initialisation, moving the weights, shader
  // compilation on WebGL) and the median of 20. Each backend that starts must
  // rank the post as the page's own does.
  const backends = await page.evaluate(async (text) => {
    const tf = window.tf;
    const chosen = tf.getBackend();
    const results = {};
    for (const backend of ['wasm', 'webgl', 'cpu']) {
      try {
        if (!(await tf.setBackend(backend))) throw new Error('setBackend returned false');
      } catch (error) {
        results[backend] = { error: String(error.message || error) };
        continue;
      }
      let start = performance.now();
      const top = window.kilnApp.sync.predict(text, 1)[0].label;
      const first = performance.now() - start;
      const times = [];
      for (let i = 0; i < 20; i++) {
        start = performance.now();
        window.kilnApp.sync.predict(`${text} ${i}`, 5);
        times.push(performance.now() - start);
      }
      times.sort((a, b) => a - b);
      results[backend] = { top, first, median: times[times.length >> 1] };
    }
    await tf.setBackend(chosen);
    return results;
  }, SPACE_POST);
  for (const [backend, result] of Object.entries(backends)) {
    if (result.error) {
      console.log(`# tfjs backend ${backend}: did not start (${result.error})`);
      continue;
    }
    console.log(`# tfjs backend ${backend}: first prediction after switching ${result.first.toFixed(1)} ms, ` +
                `median predict ${result.median.toFixed(2)} ms`);
    assert.equal(result.top, 'sci.space', `the ${backend} backend ranks the post as the page does`);
  }
  assert.ok(!backends.wasm.error, `the WASM backend starts: ${backends.wasm.error}`);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'every backend runs under the CSP');
  await page.screenshot({ path: join(artifacts, 'offline.png'), fullPage: true });
});

// K10's short texts (tests/data/short-texts.json), still offline: the page
// must rank them as `kiln predict` does. The accuracy itself is measured,
// not asserted (bench/quality/short_texts.mjs is its benchmark).
test('offline, the page gives the short texts the top topics kiln predict gives', async (t) => {
  const { texts } = JSON.parse(readFileSync(join(repoRoot, 'tests/data/short-texts.json'), 'utf8'));
  const inPage = await page.evaluate(
    (list) => list.map((text) => window.kilnApp.sync.predict(text, 1)[0].label),
    texts.map((entry) => entry.text));
  const file = join(artifacts, 'short-texts.jsonl');
  writeFileSync(file, texts.map((entry) => JSON.stringify({ text: entry.text })).join('\n') + '\n');
  const predicted = stack.run(['--json', 'predict', 'news:1', '--file', file, '-k', '1']);
  assert.equal(predicted.status, 0, predicted.stderr);
  const cli = predicted.stdout.trim().split('\n').map((line) => JSON.parse(line).topics[0].topic);
  const right = inPage.filter((topic, i) => topic === texts[i].topic).length;
  t.diagnostic(`short texts, version 1 in headless Chromium: ${right}/${texts.length} top-1 right`);
  assert.deepEqual(inPage, cli);
});

test('back online, the page switches to a new version without a reload, downloading only changed files', async () => {
  const version = await publishNewVersion(3);
  assert.equal(version, 2);
  const changed = await changedFiles(1, 2);
  assert.ok(changed.some((path) => path.startsWith('group1-shard')),
    `the weights changed: ${changed}`);
  assert.ok(!changed.includes('vocab.json') && !changed.includes('preprocess.json') &&
            !changed.includes('idf.json'), `same vocabulary and idf: ${changed}`);

  await page.evaluate(() => { window.notReloaded = true; });
  const from = requests.length;
  await context.setOffline(false);
  await waitForSync(() => window.kilnApp.sync.current?.version === 2 && window.kilnApp.sync.state.status === 'up-to-date');
  assert.equal(await page.evaluate(() => window.notReloaded), true, 'the page was not reloaded');
  console.log('# update to version 2: last byte of the download to first prediction ' +
              `${(await page.evaluate(() => window.kilnApp.timings.lastByteToFirstPrediction)).toFixed(0)} ms`);
  assert.deepEqual(fileRequests(2, from), Object.fromEntries(changed.map((path) => [path, 1])));
  assert.equal(await page.textContent('#model-version'), '2');
  assert.match(await page.textContent('#sync'), /up to date \(version 2\)/);
  await page.waitForFunction(() => document.querySelectorAll('#chart circle').length === 2);
  assert.equal(await topTopic(SPACE_POST), cliTopTopic(2, SPACE_POST));

  // Checking again revalidates the manifest: 304, nothing else.
  const again = requests.length;
  const [manifestResponse] = await Promise.all([
    page.waitForResponse((response) => response.url().endsWith(`/aliases/${ALIAS}/manifest.json`)),
    page.click('#check'),
  ]);
  assert.equal(manifestResponse.status(), 304);
  await waitForSync(() => window.kilnApp.sync.state.status === 'up-to-date');
  assert.deepEqual(requests.slice(again).filter((path) => path.includes('/versions/')), []);
});

test('a file corrupted in transit fails its sha256 check; the old version stays and the page says why', async () => {
  const version = await publishNewVersion(2);
  const changed = await changedFiles(2, version);
  // The last changed file: the ones before it are stored, so the retry
  // fetches only this one.
  const victim = changed[changed.length - 1];
  const corrupt = await fetch(`${stack.httpBase}/test/corrupt-next?file=${victim}`, { method: 'POST' });
  assert.equal(corrupt.status, 200);

  await page.click('#check');
  await waitForSync(() => window.kilnApp.sync.state.status === 'failed');
  const state = await syncState();
  assert.equal(state.version, 2);
  assert.match(state.error, new RegExp(`${victim.replace(/\./g, '\\.')} of version ${version} failed its sha256 check`));
  assert.equal(await page.evaluate(() => window.kilnApp.sync.current.version), 2);
  const shown = await page.textContent('#sync');
  assert.match(shown, /Update failed: .*sha256.*Still using version 2/);
  assert.equal(await page.textContent('#model-version'), '2');
  assert.equal(await topTopic(SPACE_POST), cliTopTopic(2, SPACE_POST));
  await page.screenshot({ path: join(artifacts, 'corrupted.png'), fullPage: true });

  // Served correctly again, it completes the update with that file alone.
  const from = requests.length;
  await page.click('#check');
  await waitForSync((v) => window.kilnApp.sync.current?.version === v, version);
  assert.deepEqual(fileRequests(version, from), { [victim]: 1 });

  // keep = 2: storage holds exactly the files of the two latest versions.
  const kept = new Set([...(await manifest(2)).files, ...(await manifest(version)).files].map((file) => file.sha256));
  assert.deepEqual(new Set(await storedFiles()), kept);
});

// `version`'s files that the page's storage lacks, in manifest order.
async function filesMissing(version) {
  const held = new Set(await storedFiles());
  return (await manifest(version)).files.filter((file) => !held.has(file.sha256));
}

async function bytesMissing(version) {
  return (await filesMissing(version)).reduce((sum, file) => sum + file.size, 0);
}

async function changedFilesFromStorage(version) {
  return (await filesMissing(version)).map((file) => file.path);
}

// Chromium's IndexedDB lets writes through against an allowance it cached
// (measured: for up to half a minute) before it asks the quota manager
// again, so an override applies only later. Waits until a scratch database
// of the page's origin is refused a write of `bytes`.
async function waitForQuotaInForce(bytes) {
  await waitFor('the quota override to apply to IndexedDB', () => page.evaluate(async (size) => {
    const db = await new Promise((resolve, reject) => {
      const open = indexedDB.open('kiln-test-quota-probe');
      open.onupgradeneeded = () => open.result.createObjectStore('scratch');
      open.onsuccess = () => resolve(open.result);
      open.onerror = () => reject(open.error);
    });
    // Random bytes: IndexedDB compresses, and the probe must weigh its size.
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536));
    const write = (action) => new Promise((resolve, reject) => {
      const tx = db.transaction('scratch', 'readwrite');
      action(tx.objectStore('scratch'));
      tx.oncomplete = () => resolve(true);
      tx.onabort = () => (tx.error?.name === 'QuotaExceededError' ? resolve(false) : reject(tx.error));
    });
    const stored = await write((store) => store.put(bytes, 'probe'));
    if (stored) await write((store) => store.delete('probe'));
    db.close();
    return !stored;
  }, bytes), 120000, 3000);
}

test('a new version that does not fit the storage quota: the old one keeps predicting and the page says why', async () => {
  const using = (await syncState()).version;
  const keptBefore = new Set(await storedFiles());
  // Four epochs: a number no earlier version used, so that the weights differ
  // (training is deterministic).
  const version = await publishNewVersion(4);
  const missing = await filesMissing(version);
  const needed = await bytesMissing(version);
  assert.ok(missing.length >= 2, `version ${version} has files to store: ${missing.map((file) => file.path)}`);
  // Room for all but half of the last file (the files are downloaded in
  // manifest order), so that space runs out in the middle of the download.
  // Chromium enforces the override, though estimate() goes on reporting a
  // larger quota.
  const room = needed - Math.ceil(missing[missing.length - 1].size / 2);
  const origin = new URL(stack.httpBase).origin;
  const { usage } = await page.evaluate(() => navigator.storage.estimate());
  const cdp = await context.newCDPSession(page);
  await cdp.send('Storage.overrideQuotaForOrigin', { origin, quotaSize: usage + room });
  try {
    await waitForQuotaInForce(room + 65536);
    await page.evaluate(() => {
      window.filesStored = 0;
      window.kilnApp.sync.addEventListener('progress', (e) => { window.filesStored = e.detail.filesDone; });
    });
    await page.click('#check');
    await waitForSync(() => window.kilnApp.sync.state.status === 'failed');
    const state = await syncState();
    assert.equal(state.version, using);
    assert.equal(state.quotaExceeded?.version, version, JSON.stringify(state));
    assert.equal(state.quotaExceeded.bytesNeeded, needed);
    assert.equal(typeof state.quotaExceeded.usage, 'number');
    assert.ok(await page.evaluate(() => window.filesStored) >= 1, 'space ran out after a file was stored');
    assert.match(state.error, new RegExp(`^not enough storage on this device for version ${version}: ` +
                                         `it needs .* \\(${needed} bytes\\)`));
    assert.match(await page.textContent('#sync'),
      new RegExp(`Update failed: not enough storage .*${needed} bytes.*Still using version ${using}\\.`));
    assert.match(await page.textContent('#storage'), /^\d+(\.\d)? [kMG]?B used of \d+(\.\d)? [kMG]?B · /);
    assert.equal(await page.textContent('#model-version'), String(using));
    assert.equal(await topTopic(SPACE_POST), cliTopTopic(using, SPACE_POST));
    // The new version's files stored before space ran out were removed again,
    // and the space they took is free for what else the site stores.
    assert.deepEqual(new Set(await storedFiles()), keptBefore);
    await page.screenshot({ path: join(artifacts, 'quota-exceeded.png'), fullPage: true });
  } finally {
    await cdp.send('Storage.overrideQuotaForOrigin', { origin });
    await cdp.detach();
    await page.evaluate(() => new Promise((resolve) => {
      indexedDB.deleteDatabase('kiln-test-quota-probe').onsuccess = resolve;
    }));
  }
});

test('two tabs: each changed file is downloaded once in all, and both end on the new version', async () => {
  const using = (await syncState()).version;
  const latest = (await (await fetch(`${stack.httpBase}/v1/models/news`)).json()).aliases[ALIAS];
  assert.notEqual(latest, using, 'the previous test left a newer version to fetch');
  const changed = await changedFilesFromStorage(latest);
  assert.ok(changed.length > 0);

  // The second tab opens offline, from storage and the service worker, so
  // that both come online, and sync, at the same moment.
  await context.setOffline(true);
  const second = await context.newPage();
  watch(second);
  try {
    await second.goto(`${stack.httpBase}/?alias=${ALIAS}`);
    await second.waitForFunction((v) => window.kilnApp?.sync.current?.version === v, using);
    const sources = () => { window.versionSources = [];
      window.kilnApp.sync.addEventListener('version', (e) => window.versionSources.push(e.detail.source)); };
    await page.evaluate(sources);
    await second.evaluate(sources);

    const from = requests.length;
    await context.setOffline(false);
    const done = (v) => window.kilnApp.sync.current?.version === v && window.kilnApp.sync.state.status === 'up-to-date';
    await Promise.all([page.waitForFunction(done, latest, { timeout: 120000 }),
      second.waitForFunction(done, latest, { timeout: 120000 })]);
    assert.deepEqual(fileRequests(latest, from), Object.fromEntries(changed.map((path) => [path, 1])));
    // One tab downloaded; the other loaded what it stored.
    const seen = [...await page.evaluate(() => window.versionSources), ...await second.evaluate(() => window.versionSources)];
    assert.deepEqual(seen.sort(), ['network', 'other-tab']);
    assert.equal(await second.textContent('#model-version'), String(latest));
    assert.equal(await page.textContent('#model-version'), String(latest));

    // A rollback that one tab checks: the other follows from storage with no
    // manifest or file request of its own (it only refreshes its chart).
    promote(using);
    const rollbackFrom = requests.length;
    const secondSyncRequests = [];
    second.on('request', (request) => {
      const path = new URL(request.url()).pathname;
      if (path.includes('/aliases/') || path.includes('/versions/')) secondSyncRequests.push(path);
    });
    await page.click('#check');
    await page.waitForFunction(done, using);
    await second.waitForFunction((v) => window.kilnApp.sync.current?.version === v, using);
    assert.deepEqual(secondSyncRequests, []);
    assert.deepEqual(requests.slice(rollbackFrom).filter((path) => path.includes('/versions/')), [],
      'both versions were stored');
    assert.equal(await topTopic(SPACE_POST), cliTopTopic(using, SPACE_POST));
    await second.screenshot({ path: join(artifacts, 'second-tab.png'), fullPage: true });
  } finally {
    await second.close();
  }
});

// A link must not point the page at another registry (K12's safe default
// page): ?registry= names one the HTML does not list, so it is refused and
// the page syncs from its own origin without a request to the other one.
test('a ?registry= the page does not list is refused; the page keeps its own origin', async () => {
  const elsewhere = 'http://127.0.0.1:9';
  const other = await context.newPage();
  watch(other);
  const strayRequests = [];
  other.on('request', (request) => {
    if (request.url().startsWith(elsewhere)) strayRequests.push(request.url());
  });
  try {
    await other.goto(`${stack.httpBase}/?alias=${ALIAS}&registry=${encodeURIComponent(elsewhere)}`);
    await other.waitForFunction(() => window.kilnApp?.sync.state.status === 'up-to-date', null, { timeout: 60000 });
    const config = await other.evaluate(() => window.kilnApp.config);
    assert.equal(config.baseUrl, new URL(stack.httpBase).origin);
    assert.equal(config.refusedRegistry, elsewhere);
    assert.deepEqual(strayRequests, []);
    assert.equal(await other.evaluate((text) => window.kilnApp.sync.predict(text, 1)[0].label, SPACE_POST),
      'sci.space');
  } finally {
    await other.close();
  }
});

// K12: the registry may run a newer Kiln than the app. A bundle whose
// preprocess.json names a spec version this library does not implement is
// refused with that reason, and the version in use goes on predicting. The
// registry publishes only what this build writes, so the test plays the
// newer registry: it answers the alias's manifest and that version's
// preprocess.json as one would (the manifest lists the file's true size
// and sha256, so only the spec check can refuse it).
test('a bundle of an unknown preprocessing spec is refused with its message; the version in use keeps predicting', async () => {
  const using = (await syncState()).version;
  const other = using - 1;
  assert.ok(other >= 1);
  promote(other);
  const filesUrl = `${stack.httpBase}/v1/models/news/versions/${other}/preprocess.json`;
  const newer = JSON.stringify({ ...(await (await fetch(filesUrl)).json()), spec_version: 'kiln-text-99' });
  const entry = { path: 'preprocess.json', size: Buffer.byteLength(newer),
    sha256: createHash('sha256').update(newer).digest('hex') };
  const aliasUrl = `${stack.httpBase}/v1/models/news/aliases/${ALIAS}/manifest.json`;
  await page.route(aliasUrl, async (route) => {
    const response = await route.fetch();
    const manifestJson = await response.json();
    manifestJson.files = manifestJson.files.map((file) => (file.path === entry.path ? entry : file));
    const headers = { ...response.headers() };
    delete headers.etag;  // the registry's ETag is the sha256 of the manifest it sent
    await route.fulfill({ response, headers, body: JSON.stringify(manifestJson) });
  });
  await page.route(filesUrl, (route) => route.fulfill({ status: 200, contentType: 'application/json', body: newer }));
  try {
    await page.click('#check');
    await waitForSync(() => window.kilnApp.sync.state.status === 'failed');
    const state = await syncState();
    assert.equal(state.error, `version ${other} does not load: the bundle's text preprocessing is kiln-text-99, ` +
      "and this library implements kiln-text-1 only: update the app's Kiln libraries (clients/sync, clients/text) " +
      'to one that implements it');
    assert.equal(state.version, using);
    assert.match(await page.textContent('#sync'), new RegExp(`Update failed: .*kiln-text-99.*Still using version ${using}\\.`));
    assert.equal(await page.textContent('#model-version'), String(using));
    assert.equal(await topTopic(SPACE_POST), cliTopTopic(using, SPACE_POST));
    await page.screenshot({ path: join(artifacts, 'unknown-spec.png'), fullPage: true });
  } finally {
    await page.unrouteAll();
    promote(using);
  }
  await page.click('#check');
  await waitForSync((v) => window.kilnApp.sync.state.status === 'up-to-date' && window.kilnApp.sync.current?.version === v,
    using);
});

// K12's parity check, first part: test posts of every topic of the model,
// the page against kiln predict. The npm package's checks below reuse them.
test(`the page gives ${PARITY_POSTS} test posts the top topic kiln predict gives`, async () => {
  const version = (await syncState()).version;
  const { categories, years } = (await manifest(version)).lineage.test_dataset;
  const yearRanges = years.map((range) => `${range.first}-${range.last}`).join(',');
  const perTopic = Math.ceil(PARITY_POSTS / categories.length);
  const texts = [];
  for (const category of categories) {
    const listed = stack.run(['posts', '--categories', category, '--years', yearRanges, '--limit', String(perTopic)]);
    assert.equal(listed.status, 0, listed.stderr);
    texts.push(...listed.stdout.trim().split('\n').map((line) => JSON.parse(line).text));
  }
  texts.length = Math.min(texts.length, PARITY_POSTS);
  assert.equal(texts.length, PARITY_POSTS);
  const file = join(artifacts, 'parity-posts.jsonl');
  writeFileSync(file, texts.map((text) => JSON.stringify({ text })).join('\n') + '\n');
  const predicted = stack.run(['--json', 'predict', `news:${version}`, '--file', file, '-k', '1']);
  assert.equal(predicted.status, 0, predicted.stderr);
  const cli = predicted.stdout.trim().split('\n').map((line) => JSON.parse(line).topics[0].topic);
  const inPage = await page.evaluate((list) => list.map((text) => window.kilnApp.sync.predict(text, 1)[0].label), texts);
  assert.deepEqual(inPage, cli);
  parity = { version, file, cli };
});

// The JavaScript the app and the npm package ship, as served and packed,
// evaluates no string as code: the page's CSP could not allow it anyway.
// The web app's tfjs bundles included (the ES2017 builds: the ES5 ones'
// polyfills call eval).
test('no eval in the JavaScript Kiln ships (the web app as served, the npm package as packed)', async () => {
  const served = ['app.js', 'sw.js', 'vendor/sync/kiln-sync.js', 'vendor/sync/layers-model-io.js',
    'vendor/text/kiln-text.js', 'vendor/text/kiln-preprocess.js', 'vendor/tf.es2017.min.js',
    'vendor/tf-backend-wasm.es2017.min.js'];
  const sources = {};
  for (const path of served) {
    const response = await fetch(`${stack.httpBase}/${path}`);
    assert.equal(response.status, 200, path);
    sources[`web app: ${path}`] = await response.text();
  }
  const version = (await syncState()).version;
  const response = await fetch(`${stack.httpBase}/v1/models/news/versions/${version}/npm.tgz`);
  assert.equal(response.status, 200);
  const unpacked = mkdtempSync(join(tmpdir(), 'kiln-npm-grep-'));
  try {
    writeFileSync(join(unpacked, 'package.tgz'), Buffer.from(await response.arrayBuffer()));
    const untar = spawnSync('tar', ['-xzf', 'package.tgz'], { cwd: unpacked, encoding: 'utf8' });
    assert.equal(untar.status, 0, untar.stderr);
    const walk = (dir) => readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
    const code = walk(join(unpacked, 'package')).filter((path) => /\.(js|mjs|cjs)$/.test(path));
    assert.ok(code.length >= 6, `the package holds its code: ${code}`);
    for (const path of code) sources[`npm package: ${path.slice(unpacked.length + 1)}`] = readFileSync(path, 'utf8');
  } finally {
    rmSync(unpacked, { recursive: true, force: true });
  }
  for (const [name, source] of Object.entries(sources)) {
    assert.doesNotMatch(source, EVAL_PATTERN, name);
  }
});

test('npm.tgz installs with npm and predicts the same top topic as kiln predict', async () => {
  assert.ok(parity, 'needs the parity posts of the page test');
  npmVersion = (await (await fetch(`${stack.httpBase}/v1/models/news`)).json()).aliases[ALIAS];
  assert.equal(npmVersion, parity.version);
  const response = await fetch(`${stack.httpBase}/v1/models/news/versions/${npmVersion}/npm.tgz`);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-disposition'), new RegExp(`kiln-model-news-${npmVersion}\\.0\\.0\\.tgz`));
  npmDir = mkdtempSync(join(tmpdir(), 'kiln-npm-'));
  writeFileSync(join(npmDir, 'model.tgz'), Buffer.from(await response.arrayBuffer()));
  writeFileSync(join(npmDir, 'package.json'), '{"name": "consumer", "private": true}\n');
  // The repository's tfjs version, from npm's cache when it has it.
  const tfjs = JSON.parse(readFileSync(join(repoRoot, 'node_modules/@tensorflow/tfjs/package.json'), 'utf8')).version;
  const installed = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts',
    './model.tgz', `@tensorflow/tfjs@${tfjs}`], { cwd: npmDir, encoding: 'utf8', timeout: 300000 });
  assert.equal(installed.status, 0, installed.stdout + installed.stderr);
  const installedPackage = JSON.parse(readFileSync(join(npmDir, 'node_modules/kiln-model-news/package.json'), 'utf8'));
  assert.equal(installedPackage.version, `${npmVersion}.0.0`);
  assert.deepEqual(installedPackage.peerDependencies, { '@tensorflow/tfjs': '^4.0.0' });

  writeFileSync(join(npmDir, 'predict.cjs'), `
    const fs = require('fs');
    const model = require('kiln-model-news');
    (async () => {
      const texts = fs.readFileSync(process.argv[2], 'utf8').trim().split('\\n').map((line) => JSON.parse(line).text);
      const tops = [];
      for (const text of texts) tops.push((await model.predict(text, 1))[0].label);
      console.log(JSON.stringify({ version: model.VERSION, tops }));
    })().catch((error) => { console.error(error); process.exit(1); });
  `);
  const predicted = spawnSync('node', ['predict.cjs', parity.file], { cwd: npmDir, encoding: 'utf8' });
  assert.equal(predicted.status, 0, predicted.stderr);
  const fromPackage = JSON.parse(predicted.stdout.trim().split('\n').pop());
  assert.equal(fromPackage.version, npmVersion);
  assert.deepEqual(fromPackage.tops, parity.cli);
});

// What a bundler does with browser.mjs, minus the bundler: the installed
// package served as static files, @tensorflow/tfjs mapped by an import map.
test('the package\'s browser.mjs predicts the same in Chromium', async () => {
  assert.ok(npmDir, 'needs the installed package of the previous test');
  const origin = 'http://npm-consumer.test';
  const served = {
    '/': { body: `<!doctype html><script type="importmap">{"imports": {"@tensorflow/tfjs": "/tf.fesm.min.js"}}</script>`,
      type: 'text/html' },
    '/tf.fesm.min.js': { path: join(repoRoot, 'node_modules/@tensorflow/tfjs/dist/tf.fesm.min.js') },
  };
  const consumer = await context.newPage();
  await consumer.route(`${origin}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    const file = served[path] ?? (path.startsWith('/pkg/') &&
      { path: join(npmDir, 'node_modules/kiln-model-news', path.slice('/pkg/'.length)) });
    if (!file) return route.fulfill({ status: 404 });
    return route.fulfill(file.path ? { path: file.path, contentType: path.endsWith('js') ? 'text/javascript' : undefined }
      : { body: file.body, contentType: file.type });
  });
  try {
    await consumer.goto(`${origin}/`);
    const tops = await consumer.evaluate(async (texts) => {
      const model = await import('/pkg/browser.mjs');
      const result = [];
      for (const text of texts) result.push((await model.predict(text, 1))[0].label);
      return { version: model.VERSION, tops: result };
    }, readFileSync(parity.file, 'utf8').trim().split('\n').map((line) => JSON.parse(line).text));
    assert.equal(tops.version, npmVersion);
    assert.deepEqual(tops.tops, parity.cli);
  } finally {
    await consumer.close();
  }
});
