// A Kiln model as an npm package, for browsers and bundlers. The registry
// puts this file in every model's package (services/registry/npm_package.cc);
// ./model-files.mjs, written per version, names the bundle's files.
//
//   import { predict } from 'kiln-model-news';
//   const top3 = await predict('text of a post', 3);  // [{label, probability}, ...]
import * as tf from '@tensorflow/tfjs';

import { CLASSES, FILES, PACKAGE, VERSION } from './model-files.mjs';
import { layersModelHandler } from './sync/layers-model-io.js';
import { createPreprocessor } from './text/kiln-preprocess.js';

export { CLASSES, VERSION };

async function fetchFile(name) {
  if (!Object.hasOwn(FILES, name)) throw new Error(`${PACKAGE}: ${name} is not a file of this model`);
  const response = await fetch(FILES[name]);
  if (!response.ok) throw new Error(`${PACKAGE}: ${name}: HTTP ${response.status}`);
  return response;
}

const fetchText = async (name) => (await fetchFile(name)).text();

let loading = null;

// The model and its preprocessing, loaded once; every call shares them (a
// failed load is retried on the next call).
export function load() {
  loading ??= (async () => {
    const modelJson = await (await fetchFile('model.json')).json();
    const model = await tf.loadLayersModel(
      layersModelHandler(modelJson, async (name) => (await fetchFile(name)).arrayBuffer()));
    // idf.json: tfidf models only.
    const idf = Object.hasOwn(FILES, 'idf.json') ? await fetchText('idf.json') : undefined;
    const kiln = createPreprocessor(await fetchText('preprocess.json'), await fetchText('vocab.json'), idf);
    return { model, preprocess: kiln.preprocess, classes: kiln.classes, kiln };
  })().catch((error) => {
    loading = null;
    throw error;
  });
  return loading;
}

// The k most probable classes of `text` (default 5), most probable first.
export async function predict(text, k = 5) {
  const { model, kiln } = await load();
  return kiln.predict(tf, model, text, k);
}
