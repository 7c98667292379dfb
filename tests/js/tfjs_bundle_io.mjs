// Loads a Kiln bundle directory (docs/bundle.md) in node with the real
// @tensorflow/tfjs, the way a web page would: every file checked against
// manifest.json, the model through tf.loadLayersModel with the IOHandler the
// sync library and npm packages use (clients/sync/layers-model-io.js), text
// through Kiln's library as shipped (clients/text/kiln-preprocess.js) reading
// the bundle's preprocess.json. Shared by the parity suites.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { layersModelHandler } from '../../clients/sync/layers-model-io.js';
import { createPreprocessor } from '../../clients/text/kiln-preprocess.js';

function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

// manifest.json and the files it lists, each verified: Map path -> Buffer.
export function readBundleFiles(dir) {
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
  const files = new Map();
  for (const entry of manifest.files) {
    const bytes = readFileSync(join(dir, entry.path));
    if (bytes.length !== entry.size) {
      throw new Error(`${entry.path} is ${bytes.length} bytes, manifest.json says ${entry.size}`);
    }
    const sha256 = sha256Hex(bytes);
    if (sha256 !== entry.sha256) {
      throw new Error(`${entry.path} has sha256 ${sha256}, manifest.json says ${entry.sha256}`);
    }
    files.set(entry.path, bytes);
  }
  return { manifest, files };
}

// Rows per model.predict call: a tfidf row is VOCAB_SIZE floats.
const BATCH = 64;

// Everything needed to predict with bundle files already read and checked
// (readBundleFiles; Map path -> Buffer):
//   model       the tf.LayersModel
//   manifest    manifest.json, parsed
//   kiln        createPreprocessor's result for the bundle's preprocess.json
//   preprocess  text -> the model's input: a plain array of max_length ids,
//               or for a tfidf model (idf.json) a Float32Array of vocab_size
//   predictInputs  rows of such inputs -> probabilities, a Float32Array each
//   predict     texts -> probabilities, one Float32Array per text
export async function loadBundleFiles(manifest, files) {
  const model = await tf.loadLayersModel(
    layersModelHandler(JSON.parse(files.get('model.json').toString('utf8')), (path) => files.get(path)));
  const idf = files.has('idf.json') ? files.get('idf.json').toString('utf8') : undefined;
  const kiln = createPreprocessor(files.get('preprocess.json').toString('utf8'),
    files.get('vocab.json').toString('utf8'), idf);
  const tfidf = kiln.input === 'tfidf';
  const preprocess = kiln.preprocess;
  const width = tfidf ? manifest.preprocessing.vocab_size : manifest.preprocessing.max_length;
  const classes = manifest.classes.length;
  const predictInputs = (rows) => {
    const result = [];
    for (let start = 0; start < rows.length; start += BATCH) {
      const batch = rows.slice(start, start + BATCH);
      const values = new (tfidf ? Float32Array : Int32Array)(batch.length * width);
      batch.forEach((row, i) => values.set(row, i * width));
      const output = tf.tidy(() =>
        model.predict(tf.tensor2d(values, [batch.length, width], tfidf ? 'float32' : 'int32')));
      const probabilities = output.dataSync();
      output.dispose();
      batch.forEach((_, i) => result.push(probabilities.slice(i * classes, (i + 1) * classes)));
    }
    return result;
  };
  const predict = (texts) => predictInputs(texts.map(preprocess));
  return { model, manifest, kiln, preprocess, predictInputs, predict };
}

// loadBundleFiles of a bundle directory, every file checked.
export async function loadBundle(dir) {
  const { manifest, files } = readBundleFiles(dir);
  return loadBundleFiles(manifest, files);
}

// The index of a row's largest value (the first of equals, like the C++ side).
export function argmax(row) {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

// The largest |a - b| over two lists of probability rows.
export function maxAbsDiff(rows, expected) {
  let max = 0;
  rows.forEach((row, i) => row.forEach((p, j) => { max = Math.max(max, Math.abs(p - expected[i][j])); }));
  return max;
}

export { tf, sha256Hex };
