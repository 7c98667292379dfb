// kiln-preprocess: turns a bundle's preprocess.json (docs/bundle.md,
// "preprocess.json") with its vocab.json, and idf.json for a tfidf model,
// into the model's input and its predictions. The bundle carries only data;
// the code that reads it is this library, versioned with the app, so a page
// runs no code that came with a model and needs no 'unsafe-eval'.
//
//   import { createPreprocessor } from './kiln-preprocess.js';
//   const kiln = createPreprocessor(preprocessJson, vocabJson, idfJson);
//   kiln.predict(tf, model, 'text of a post', 3);  // [{label, probability}]
//
// An ES module with no dependency but kiln-text.js beside it; `tf` is passed
// in, so the same file serves browsers, workers and node.

import {
  SPEC_VERSION, buildVocabIndex, denseFeatures, encodeText, tfidfFeatures,
} from './kiln-text.js';

export { SPEC_VERSION };

export const PREPROCESS_FORMAT = 'kiln-preprocess';
const INPUTS = ['ids', 'tfidf'];
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * A bundle's preprocessing, ready to use: {specVersion, input, maxLength,
 * vocabSize, classes, preprocess(text), topClasses(probabilities, k),
 * predict(tf, model, text, k)}. Each file may be given parsed or as its
 * text. Throws an Error naming the file and field when they are malformed,
 * do not belong together, or ask for a spec version this library does not
 * implement.
 */
export function createPreprocessor(preprocessJson, vocabJson, idfJson) {
  const spec = readPreprocessFile(preprocessJson);
  const vocab = parsed(vocabJson, 'vocab.json');
  if (vocab?.spec_version !== spec.specVersion) {
    throw new Error(`vocab.json is for preprocessing spec ${vocab?.spec_version}, ` +
                    `preprocess.json says ${spec.specVersion}`);
  }
  if (vocab.sha256 !== spec.vocabSha256 || !Array.isArray(vocab.words) || vocab.words.length !== spec.vocabSize) {
    throw new Error(`vocab.json does not belong to this bundle (preprocess.json expects ${spec.vocabSize} ` +
                    `words with sha256 ${spec.vocabSha256})`);
  }
  const vocabIndex = buildVocabIndex(vocab.words);
  const { input, maxLength, vocabSize, classes } = spec;
  let preprocess;
  if (input === 'ids') {
    preprocess = (text) => encodeText(String(text), vocabIndex, maxLength);
  } else {
    const weights = readIdf(idfJson, spec);
    preprocess = (text) => denseFeatures(tfidfFeatures(encodeText(String(text), vocabIndex, maxLength), weights),
      vocabSize);
  }

  function topClasses(probabilities, k = classes.length) {
    if (probabilities.length !== classes.length) {
      throw new Error(`expected ${classes.length} probabilities, got ${probabilities.length}`);
    }
    const order = classes.map((_, i) => i);
    // Ties keep the class order.
    order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
    return order.slice(0, Math.min(k, classes.length))
      .map((i) => ({ label: classes[i], probability: probabilities[i] }));
  }

  function predict(tf, model, text, k) {
    const features = preprocess(text);
    const inputTensor = input === 'tfidf'
      ? tf.tensor2d(features, [1, vocabSize], 'float32')
      : tf.tensor2d([features], [1, maxLength], 'int32');
    const output = model.predict(inputTensor);
    const probabilities = output.dataSync();
    inputTensor.dispose();
    output.dispose();
    return topClasses(probabilities, k);
  }

  return { ...spec, preprocess, topClasses, predict };
}

/**
 * preprocess.json, checked: {specVersion, input, maxLength, vocabSize,
 * vocabSha256, classes}. The spec version is checked first, so that a
 * bundle from a newer Kiln is refused for what it is rather than for a field
 * this library does not know.
 */
export function readPreprocessFile(preprocessJson) {
  const file = parsed(preprocessJson, 'preprocess.json');
  if (file?.format !== PREPROCESS_FORMAT) {
    throw new Error(`preprocess.json is not in the ${PREPROCESS_FORMAT} format (format ${file?.format})`);
  }
  if (file.spec_version !== SPEC_VERSION) {
    throw new Error(`the bundle's text preprocessing is ${file.spec_version}, and this library implements ` +
                    `${SPEC_VERSION} only: update the app's Kiln libraries (clients/sync, clients/text) to ` +
                    'one that implements it');
  }
  if (!INPUTS.includes(file.input)) {
    throw new Error(`preprocess.json input is ${JSON.stringify(file.input)}, not one of ${INPUTS.join(', ')}`);
  }
  for (const field of ['max_length', 'vocab_size']) {
    if (!Number.isSafeInteger(file[field]) || file[field] < 1) {
      throw new Error(`preprocess.json ${field} is ${JSON.stringify(file[field])}, not a positive integer`);
    }
  }
  if (!SHA256_HEX.test(file.vocab_sha256 ?? '')) {
    throw new Error('preprocess.json vocab_sha256 is not a lower-case hex sha256');
  }
  if (!Array.isArray(file.classes) || file.classes.length < 2 ||
      file.classes.some((name) => typeof name !== 'string' || name === '')) {
    throw new Error('preprocess.json classes must list at least two non-empty names');
  }
  return {
    specVersion: file.spec_version,
    input: file.input,
    maxLength: file.max_length,
    vocabSize: file.vocab_size,
    vocabSha256: file.vocab_sha256,
    classes: file.classes.slice(),
  };
}

// idf.json's idf as a Float32Array (the float32s training used), after
// checking that the file belongs to this bundle's vocabulary.
function readIdf(idfJson, spec) {
  if (idfJson === undefined || idfJson === null) {
    throw new Error('this bundle is a tfidf model: createPreprocessor needs its idf.json as the third argument');
  }
  const idf = parsed(idfJson, 'idf.json');
  if (idf?.format !== 'kiln-idf') throw new Error(`idf.json is not in the kiln-idf format (format ${idf?.format})`);
  if (idf.vocab_sha256 !== spec.vocabSha256 || !Array.isArray(idf.idf) || idf.idf.length !== spec.vocabSize) {
    throw new Error(`idf.json does not belong to this bundle (expected ${spec.vocabSize} values for the ` +
                    `vocabulary with sha256 ${spec.vocabSha256})`);
  }
  const weights = new Float32Array(spec.vocabSize);
  idf.idf.forEach((value, i) => {
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
      throw new Error(`idf.json value ${i} is ${value}, not a finite number >= 0`);
    }
    weights[i] = value;
  });
  return weights;
}

function parsed(json, name) {
  if (typeof json !== 'string') return json;
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new Error(`${name} is not JSON: ${error.message}`);
  }
}
