'use strict';
// A Kiln model as an npm package, for node (CommonJS). The registry puts this
// file in every model's package (services/registry/npm_package.cc) beside
// the bundle's files in ./bundle and Kiln's libraries in ./text and ./sync.
//
//   const model = require('kiln-model-news');
//   const top3 = await model.predict('text of a post', 3);  // [{label, probability}, ...]
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');

const { name: PACKAGE, kiln: { version: VERSION } } = require('./package.json');
const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, 'bundle', 'manifest.json'), 'utf8'));
const CLASSES = manifest.classes;
// Only the model's own files: model.json names the shards it needs.
const FILES = new Set(manifest.files.map((file) => file.path));

function read(file) {
  if (!FILES.has(file)) throw new Error(`${PACKAGE}: ${file} is not a file of this model`);
  return fs.readFileSync(path.join(__dirname, 'bundle', file));
}

let loading = null;

// The model and its preprocessing, loaded once; every call shares them (a
// failed load is retried on the next call).
function load() {
  loading = loading || (async () => {
    // ES modules, which CommonJS reaches through import().
    const [{ createPreprocessor }, { layersModelHandler }] = await Promise.all([
      import('./text/kiln-preprocess.js'), import('./sync/layers-model-io.js')]);
    const model = await tf.loadLayersModel(layersModelHandler(JSON.parse(read('model.json')), read));
    // idf.json: tfidf models only.
    const idf = FILES.has('idf.json') ? read('idf.json').toString('utf8') : undefined;
    const kiln = createPreprocessor(read('preprocess.json').toString('utf8'), read('vocab.json').toString('utf8'), idf);
    return { model, preprocess: kiln.preprocess, classes: kiln.classes, kiln };
  })().catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

// The k most probable classes of `text` (default 5), most probable first.
async function predict(text, k = 5) {
  const { model, kiln } = await load();
  return kiln.predict(tf, model, text, k);
}

module.exports = { load, predict, VERSION, CLASSES };
