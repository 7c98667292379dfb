// The Kiln web app: classifies the text in the box with a model kept on this
// device by kiln-sync, shows the model's metrics and the sync state.
//
// Settings come from the query string, so one copy serves any model:
//   ?model=news&alias=production&registry=https://models.example.com
// The registry is this page's origin (it serves this directory) or one the
// HTML lists; ?registry= only picks among those (chooseRegistry).
import { KilnSync } from './vendor/sync/kiln-sync.js';

const params = new URLSearchParams(location.search);

// Whoever the registry is decides what the page shows and predicts, so a
// link must not be able to point it elsewhere: the registries allowed are
// those in <meta name="kiln-registries" content="URL ..."> (the first is the
// default) and this origin.
function chooseRegistry(requested) {
  const listed = document.querySelector('meta[name="kiln-registries"]')?.content ?? '';
  const allowed = [...new Set([
    ...listed.split(/\s+/).filter(Boolean).map((url) => url.replace(/\/+$/, '')), location.origin])];
  if (requested === null) return { baseUrl: allowed[0], refused: null };
  const wanted = requested.replace(/\/+$/, '');
  if (allowed.includes(wanted)) return { baseUrl: wanted, refused: null };
  console.warn(`registry ${requested} is not one this page lists (${allowed.join(', ')}); using ${allowed[0]}`);
  return { baseUrl: allowed[0], refused: requested };
}

const registry = chooseRegistry(params.get('registry'));
const config = {
  baseUrl: registry.baseUrl,
  refusedRegistry: registry.refused,
  model: params.get('model') ?? 'news',
  alias: params.get('alias') ?? 'latest',
};
const TOP_K = 5;

const $ = (id) => document.getElementById(id);
const ui = {
  sync: $('sync'),
  syncText: $('sync-text'),
  text: $('text'),
  topics: $('topics'),
  topicsEmpty: $('topics-empty'),
  modelName: $('model-name'),
  version: $('model-version'),
  recall: { 1: $('recall-1'), 3: $('recall-3'), 5: $('recall-5') },
  chart: $('chart'),
  check: $('check'),
  storage: $('storage'),
};

// Offline reloads come from the service worker's cache.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch((error) => console.warn('service worker:', error));
}
// Asks the browser, once per device and once a model is stored, not to
// evict storage under pressure. Chromium answers by its own heuristics (no
// prompt) and Firefox asks the user, who should not be asked on every load.
const PERSIST_ASKED_KEY = 'kiln-web:persist-asked';

async function askForPersistence() {
  const storage = navigator.storage;
  if (!storage?.persist || localStorage.getItem(PERSIST_ASKED_KEY) !== null) return;
  localStorage.setItem(PERSIST_ASKED_KEY, new Date().toISOString());
  if (!(await storage.persisted())) await storage.persist();
  renderStorage();
}

// The WASM backend: the model is one sparse-input dense layer and two small
// ones, for which WASM (SIMD) predicts in ~0.5 ms where WebGL in software
// takes ~40 ms (bench/quality/README.md). WebGL, then CPU, if WASM fails.
async function chooseBackend(tf) {
  tf.wasm?.setWasmPaths(new URL('vendor/', location.href).href);
  for (const backend of ['wasm', 'webgl', 'cpu']) {
    try {
      if (await tf.setBackend(backend)) return backend;
    } catch (error) {
      console.warn(`tfjs backend ${backend}:`, error);
    }
  }
  throw new Error('no tfjs backend could start');
}
await chooseBackend(window.tf);

const sync = new KilnSync({ ...config, tf: window.tf });
// For tests and the console: the sync object and the timings measured below.
// navigationToFirstPrediction adds loading tfjs and starting its backend;
// lastByteToFirstPrediction is the latest download's last byte to the first
// prediction with it (verifying, storing and loading it in between).
const timings = { storageToFirstPrediction: null, navigationToFirstPrediction: null, lastByteToFirstPrediction: null };
window.kilnApp = { sync, timings, config };

let lastProgress = null;

function percent(value) {
  return typeof value === 'number' ? `${(value * 100).toFixed(1)}%` : '–';
}

function formatBytes(bytes) {
  if (bytes < 1e3) return `${bytes} B`;
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} kB`;
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e9).toFixed(1)} GB`;
}

// This site's usage and quota as the browser reports them (approximate).
async function renderStorage() {
  const { usage, quota, persisted } = await sync.storage();
  if (usage === null || quota === null) {
    ui.storage.textContent = 'not reported by this browser';
    return;
  }
  const kept = persisted ? 'persistent' : 'may be cleared when the device runs low on space';
  ui.storage.textContent = `${formatBytes(usage)} used of ${formatBytes(quota)} · ${kept}`;
}

function renderState(state) {
  ui.sync.dataset.status = state.status;
  const using = state.version ? `version ${state.version}` : 'no model yet';
  const texts = {
    'up-to-date': `Online · up to date (${using})`,
    updating: lastProgress && lastProgress.filesTotal > 0
      ? `Online · downloading version ${lastProgress.version}: ${lastProgress.filesDone}/${lastProgress.filesTotal} files, ` +
        `${Math.round((100 * lastProgress.bytesDone) / Math.max(1, lastProgress.bytesTotal))}%`
      : `Online · checking for updates (${using})`,
    offline: state.version ? `Offline · using ${using} from this device` : 'Offline · no model on this device yet',
    failed: `Update failed: ${state.error}. ${state.version ? `Still using ${using}.` : 'No model yet.'}`,
  };
  ui.syncText.textContent = texts[state.status];
  ui.check.disabled = state.status === 'updating' || !state.online;
}

function renderTopics() {
  const text = ui.text.value.trim();
  ui.topics.replaceChildren();
  ui.topicsEmpty.hidden = text !== '' && sync.current !== null;
  if (text === '' || sync.current === null) {
    ui.topicsEmpty.textContent = sync.current === null ? 'Waiting for the model…' : 'Topics appear here as you type.';
    return;
  }
  for (const { label, probability } of sync.predict(text, TOP_K)) {
    const item = document.createElement('li');
    item.innerHTML = '<span class="name"></span><span class="track" aria-hidden="true"><span class="fill"></span></span>' +
      '<span class="score"></span>';
    item.querySelector('.name').textContent = label;
    item.querySelector('.name').title = label;
    item.querySelector('.fill').style.setProperty('--p', probability.toFixed(4));
    item.querySelector('.score').textContent = percent(probability);
    ui.topics.append(item);
  }
}

function renderModel() {
  const current = sync.current;
  ui.modelName.textContent = `${config.model}@${config.alias}`;
  ui.version.textContent = current ? String(current.version) : '–';
  for (const k of [1, 3, 5]) ui.recall[k].textContent = percent(current?.metrics[`recall@${k}`]);
}

// recall@1 of every version, as a line chart in inline SVG. The versions
// come from the registry when online and from localStorage otherwise.
const HISTORY_KEY = `kiln-web:versions:${config.baseUrl}:${config.model}`;

async function refreshHistory() {
  try {
    const response = await fetch(`${config.baseUrl}/v1/models/${config.model}`, { cache: 'no-store' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const versions = (await response.json()).versions
      .map((v) => ({ version: v.version, recall1: v.metrics['recall@1'] }))
      .filter((v) => typeof v.recall1 === 'number');
    localStorage.setItem(HISTORY_KEY, JSON.stringify(versions));
  } catch (error) {
    console.info('version history: keeping the stored copy:', error.message);
  }
  renderChart();
}

function svg(name, attributes, text) {
  const node = document.createElementNS('http://www.w3.org/2000/svg', name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderChart() {
  const versions = JSON.parse(localStorage.getItem(HISTORY_KEY) ?? '[]').sort((a, b) => a.version - b.version);
  const current = sync.current?.version;
  const desc = svg('desc', { id: 'chart-desc' }, versions.length === 0 ? 'No versions yet.'
    : versions.map((v) => `version ${v.version}: ${percent(v.recall1)}`).join(', '));
  ui.chart.replaceChildren(desc);
  if (versions.length === 0) return;

  const [width, height, left, right, top, bottom] = [320, 160, 40, 12, 10, 24];
  const values = versions.map((v) => v.recall1);
  // A padded range around the data: differences of a point or two matter.
  let low = Math.max(0, Math.min(...values) - 0.02);
  let high = Math.min(1, Math.max(...values) + 0.02);
  if (high - low < 0.04) [low, high] = [Math.max(0, high - 0.04), Math.max(0.04, high)];
  const x = (i) => left + (versions.length === 1 ? (width - left - right) / 2
    : (i * (width - left - right)) / (versions.length - 1));
  const y = (value) => top + ((high - value) * (height - top - bottom)) / (high - low);

  for (const tick of [low, (low + high) / 2, high]) {
    ui.chart.append(svg('line', { class: 'axis', x1: left, x2: width - right, y1: y(tick), y2: y(tick) }));
    ui.chart.append(svg('text', { class: 'label', x: left - 4, y: y(tick) + 3, 'text-anchor': 'end' }, percent(tick)));
  }
  ui.chart.append(svg('polyline', {
    class: 'line',
    points: versions.map((v, i) => `${x(i)},${y(v.recall1)}`).join(' '),
  }));
  // Label every version when they fit, else about eight of them.
  const step = Math.ceil(versions.length / 8);
  versions.forEach((v, i) => {
    const point = svg('circle', {
      class: v.version === current ? 'point current' : 'point', cx: x(i), cy: y(v.recall1), r: 4,
    });
    point.append(svg('title', {}, `version ${v.version}: recall@1 ${percent(v.recall1)}`));
    ui.chart.append(point);
    if (i % step === 0 || i === versions.length - 1) {
      ui.chart.append(svg('text', { class: 'label', x: x(i), y: height - 8, 'text-anchor': 'middle' }, `v${v.version}`));
    }
  });
}

let typing = null;
ui.text.addEventListener('input', () => {
  clearTimeout(typing);
  typing = setTimeout(renderTopics, 120);
});
ui.check.addEventListener('click', () => sync.sync());

sync.addEventListener('state', (event) => {
  if (event.detail.status !== 'updating') lastProgress = null;
  renderState(event.detail);
  // After each check: a failed update may still have a newer version to chart.
  if (event.detail.online && event.detail.status !== 'updating') refreshHistory();
  if (event.detail.status !== 'updating') renderStorage();
});
// When the last byte of the download in progress arrived.
let lastByteAt = null;
sync.addEventListener('progress', (event) => {
  lastProgress = event.detail;
  const { bytesDone, bytesTotal, filesDone, filesTotal } = event.detail;
  if (bytesDone === bytesTotal && filesDone === filesTotal) lastByteAt = performance.now();
  renderState(sync.state);
});
sync.addEventListener('version', (event) => {
  if (timings.storageToFirstPrediction === null) {
    sync.predict(ui.text.value || 'warm up', TOP_K);
    timings.navigationToFirstPrediction = performance.now();
    timings.storageToFirstPrediction = timings.navigationToFirstPrediction - startedAt;
  }
  if (event.detail.source === 'network' && lastByteAt !== null) {
    sync.predict(ui.text.value || 'warm up', TOP_K);
    timings.lastByteToFirstPrediction = performance.now() - lastByteAt;
    lastByteAt = null;
  }
  renderModel();
  renderTopics();
  renderChart();
  renderStorage();
  askForPersistence();
});

renderModel();
renderChart();
renderState(sync.state);
renderStorage();
const startedAt = performance.now();
sync.start().catch((error) => {
  ui.sync.dataset.status = 'failed';
  ui.syncText.textContent = `Cannot use storage on this device: ${error.message}`;
});
