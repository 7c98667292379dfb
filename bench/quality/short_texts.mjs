// Top-1 accuracy of a model on short hand-written texts
// (tests/data/short-texts.json), predicted the way a web page does: the
// bundle's preprocess.json read by Kiln's library and @tensorflow/tfjs, every file checked
// against manifest.json. Prints each text's prediction, then the figures.
//
//   node bench/quality/short_texts.mjs BUNDLE_DIR
//   node bench/quality/short_texts.mjs --registry URL --model NAME[:VERSION|@ALIAS]
//
// --texts FILE reads another set of the same form. The model's classes must
// include every topic of the set.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { argmax, loadBundleFiles, readBundleFiles } from '../../tests/js/tfjs_bundle_io.mjs';

const USAGE = 'usage: short_texts.mjs [--texts FILE] ' +
  '(BUNDLE_DIR | --registry URL --model NAME[:VERSION|@ALIAS])';
const defaultTexts = fileURLToPath(new URL('../../tests/data/short-texts.json', import.meta.url));

function die(message) {
  console.error(`short_texts: ${message}`);
  process.exit(2);
}

async function get(url) {
  const response = await fetch(url, { cache: 'no-store' });
  if (!response.ok) die(`${url}: HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
  return response;
}

// manifest.json and its files from a registry, each file checked like
// readBundleFiles does for a directory.
async function readRegistryFiles(base, ref) {
  const match = /^([a-z0-9][a-z0-9._-]*)(?::(\d+)|@([a-z][a-z0-9_-]*))?$/.exec(ref);
  if (!match) die(`--model ${ref}: expected NAME, NAME:VERSION or NAME@ALIAS`);
  const [, model, pinned, alias] = match;
  const root = `${base.replace(/\/+$/, '')}/v1/models/${model}`;
  const response = await get(pinned ? `${root}/versions/${pinned}/manifest.json`
    : `${root}/aliases/${alias ?? 'latest'}/manifest.json`);
  const version = pinned ?? response.headers.get('X-Kiln-Version');
  const manifest = JSON.parse(await response.text());
  const files = new Map();
  for (const entry of manifest.files) {
    const response = await get(`${root}/versions/${version}/${entry.path}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== entry.size || sha256 !== entry.sha256) {
      die(`${entry.path} fails its manifest check`);
    }
    files.set(entry.path, bytes);
  }
  return { manifest, files, name: `${model} version ${version}` };
}

const { values: options, positionals } = parseArgs({
  options: { texts: { type: 'string' }, registry: { type: 'string' }, model: { type: 'string' } },
  allowPositionals: true,
});
const fromRegistry = Boolean(options.registry);
if ((positionals.length === 1) === fromRegistry || fromRegistry !== Boolean(options.model)) {
  die(USAGE);
}
const set = JSON.parse(readFileSync(options.texts ?? defaultTexts, 'utf8'));
const source = fromRegistry ? await readRegistryFiles(options.registry, options.model)
  : { ...readBundleFiles(positionals[0]), name: positionals[0] };
const { manifest } = source;
const missing = set.topics.filter((topic) => !manifest.classes.includes(topic));
if (missing.length > 0) die(`the model has no class ${missing.join(', ')}`);

const bundle = await loadBundleFiles(manifest, source.files);
const probabilities = bundle.predict(set.texts.map((entry) => entry.text));
const width = Math.max(...manifest.classes.map((name) => name.length));
const perTopic = Object.fromEntries(set.topics.map((topic) => [topic, { right: 0, total: 0 }]));
let right = 0;
console.log(`${source.name}: architecture ${manifest.model.architecture ?? 'article'}, weights ` +
            `${manifest.model.weight_encoding}, ${set.texts.length} short texts`);
set.texts.forEach((entry, i) => {
  const predicted = manifest.classes[argmax(probabilities[i])];
  const ok = predicted === entry.topic;
  right += ok;
  perTopic[entry.topic].right += ok;
  perTopic[entry.topic].total += 1;
  const p = Math.max(...probabilities[i]).toFixed(2);
  console.log(`${ok ? 'ok  ' : 'MISS'} ${predicted.padEnd(width)} ${p}  ${entry.text}` +
              (ok ? '' : `  (is ${entry.topic})`));
});
const topics = set.topics.map((t) => `${t} ${perTopic[t].right}/${perTopic[t].total}`);
console.log(`per topic: ${topics.join(', ')}`);
const accuracy = (100 * right) / set.texts.length;
console.log(`top-1: ${right}/${set.texts.length} = ${accuracy.toFixed(1)}%`);
bundle.model.dispose();
