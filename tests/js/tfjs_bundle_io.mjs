// Loads a Kiln bundle directory (docs/bundle.md) in node with the real
// @tensorflow/tfjs, the way a web page would: every file checked against
// manifest.json, the model through tf.loadLayersModel, text through the
// bundle's own preprocess.js. Shared by the parity suites.
//
// Plain node tfjs has no file:// loader, so bundleIOHandler reads model.json
// and the shards itself and hands them over exactly as the http loader
// would: all groups' shards concatenated in manifest order.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';

import * as tf from '@tensorflow/tfjs';

function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

function toArrayBuffer(buffer) {
  return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
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

// A tf.io.IOHandler over bundle files already read (Map path -> Buffer).
export function bundleIOHandler(files) {
  return {
    async load() {
      const modelJson = JSON.parse(files.get('model.json').toString('utf8'));
      const weightSpecs = [];
      const shards = [];
      for (const group of modelJson.weightsManifest) {
        weightSpecs.push(...group.weights);
        for (const path of group.paths) {
          if (!files.has(path)) throw new Error(`model.json lists ${path}, which the bundle lacks`);
          shards.push(files.get(path));
        }
      }
      return {
        modelTopology: modelJson.modelTopology,
        format: modelJson.format,
        generatedBy: modelJson.generatedBy,
        convertedBy: modelJson.convertedBy,
        weightSpecs,
        weightData: toArrayBuffer(Buffer.concat(shards)),
      };
    },
  };
}

// Runs preprocess.js as a classic script in a fresh global scope, as a
// browser's <script> tag would; returns its KilnPreprocess global.
export function runPreprocessScript(source) {
  const context = vm.createContext({});
  vm.runInContext(source, context, { filename: 'preprocess.js' });
  if (context.KilnPreprocess === undefined) throw new Error('preprocess.js defines no KilnPreprocess');
  return context.KilnPreprocess;
}

// Rows per model.predict call: a tfidf row is VOCAB_SIZE floats.
const BATCH = 64;

// Everything needed to predict with bundle files already read and checked
// (readBundleFiles; Map path -> Buffer):
//   model       the tf.LayersModel
//   manifest    manifest.json, parsed
//   kiln        preprocess.js's KilnPreprocess
//   preprocess  text -> the model's input: a plain array of max_length ids,
//               or for a tfidf model (idf.json) a Float32Array of vocab_size
//   predictInputs  rows of such inputs -> probabilities, a Float32Array each
//   predict     texts -> probabilities, one Float32Array per text
export async function loadBundleFiles(manifest, files) {
  const model = await tf.loadLayersModel(bundleIOHandler(files));
  const kiln = runPreprocessScript(files.get('preprocess.js').toString('utf8'));
  const idf = files.has('idf.json') ? files.get('idf.json').toString('utf8') : undefined;
  const encode = kiln.createPreprocessor(files.get('vocab.json').toString('utf8'), idf);
  // Copies: the script's arrays belong to its own realm.
  const tfidf = kiln.ARCHITECTURE === 'tfidf';
  const preprocess = tfidf ? (text) => new Float32Array(encode(text))
    : (text) => Array.from(encode(text));
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
