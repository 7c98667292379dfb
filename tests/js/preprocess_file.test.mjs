// preprocess.json of both architectures (services/model/preprocess_file.cc)
// read by Kiln's JavaScript library as shipped (clients/text/
// kiln-preprocess.js, in the sync library and every npm package), against
// the C++ ids and TF-IDF features of tests/model/preprocess_file_fixture.cc:
//   - tfidf: preprocess(text) is the dense Float32Array(vocab_size) of the
//     C++ features, bit for bit, for every text; createPreprocessor demands
//     this bundle's idf.json and names what is wrong with another;
//   - predict feeds float32 [1, vocab_size] to a real tfjs model;
//   - article: preprocess(text) is the C++ ids, idf.json or not;
//   - a file for a spec version the library does not implement, or that
//     does not belong to its vocabulary, is refused with a message saying so.
//
// KILN_PREPROCESS_FIXTURE_DIR names the fixture's output (ctest sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createPreprocessor, SPEC_VERSION } from '../../clients/text/kiln-preprocess.js';
import { tokenize } from '../../clients/text/kiln-text.js';
import { tf } from './tfjs_bundle_io.mjs';

const fixtureDir = process.env.KILN_PREPROCESS_FIXTURE_DIR;
assert.ok(fixtureDir, 'KILN_PREPROCESS_FIXTURE_DIR is not set; run this suite through ctest');
const read = (path) => readFileSync(join(fixtureDir, path), 'utf8');
const cases = JSON.parse(read('cases.json'));
const vocabText = read('vocab.json');
const idfText = read('idf.json');
const tfidfFile = read('tfidf/preprocess.json');
const articleFile = read('article/preprocess.json');
const tfidf = createPreprocessor(tfidfFile, vocabText, idfText);
const article = createPreprocessor(articleFile, vocabText);
const vocabSize = JSON.parse(vocabText).words.length;

// preprocess.json with `change` applied.
function editedFile(text, change) {
  const copy = JSON.parse(text);
  change(copy);
  return copy;
}

function refusal(action) {
  try {
    action();
  } catch (error) {
    return error;
  }
  return null;
}

// The C++ features of case i, dense.
function expectedDense(i) {
  const dense = new Float32Array(vocabSize);
  cases.features[i].ids.forEach((id, k) => { dense[id] = cases.features[i].values[k]; });
  return dense;
}

test('each file names its input and the model constants', () => {
  assert.equal(tfidf.input, 'tfidf');
  assert.equal(article.input, 'ids');
  for (const kiln of [tfidf, article]) {
    assert.equal(kiln.specVersion, SPEC_VERSION);
    assert.equal(kiln.maxLength, cases.max_length);
    assert.equal(kiln.vocabSize, vocabSize);
    assert.deepEqual(kiln.classes, cases.classes);
  }
});

test('a spec version this library does not implement is refused, naming both versions', () => {
  const newer = editedFile(tfidfFile, (f) => { f.spec_version = 'kiln-text-2'; f.input = 'subwords'; });
  assert.equal(refusal(() => createPreprocessor(newer, vocabText, idfText))?.message,
    `the bundle's text preprocessing is kiln-text-2, and this library implements ${SPEC_VERSION} only: ` +
    "update the app's Kiln libraries (clients/sync, clients/text) to one that implements it");
});

test('a malformed preprocess.json is refused, naming the field', () => {
  const refusals = [
    [(f) => { f.format = 'other'; }, 'preprocess.json is not in the kiln-preprocess format (format other)'],
    [(f) => { f.input = 'pixels'; }, 'preprocess.json input is "pixels", not one of ids, tfidf'],
    [(f) => { f.max_length = 0; }, 'preprocess.json max_length is 0, not a positive integer'],
    [(f) => { delete f.vocab_size; }, 'preprocess.json vocab_size is undefined, not a positive integer'],
    [(f) => { f.vocab_sha256 = 'x'; }, 'preprocess.json vocab_sha256 is not a lower-case hex sha256'],
    [(f) => { f.classes = ['only']; }, 'preprocess.json classes must list at least two non-empty names'],
  ];
  for (const [change, expected] of refusals) {
    assert.equal(refusal(() => createPreprocessor(editedFile(tfidfFile, change), vocabText, idfText))?.message,
      expected);
  }
  assert.match(refusal(() => createPreprocessor('{"format"', vocabText))?.message, /^preprocess\.json is not JSON: /);
});

test("a vocab.json of another bundle is refused", () => {
  const other = editedFile(articleFile, (f) => { f.vocab_sha256 = '0'.repeat(64); });
  assert.equal(refusal(() => createPreprocessor(other, vocabText))?.message,
    `vocab.json does not belong to this bundle (preprocess.json expects ${vocabSize} words with sha256 ` +
    `${'0'.repeat(64)})`);
  assert.match(refusal(() => createPreprocessor(articleFile, '{"spec_version": "kiln-text-0"}'))?.message,
    /^vocab\.json is for preprocessing spec kiln-text-0, preprocess\.json says kiln-text-1/);
});

test('tfidf: preprocess gives the C++ features of every text, bit for bit', () => {
  assert.ok(cases.features.some((f) => f.ids.length === 0), 'some texts have no known word');
  cases.texts.forEach((text, i) => {
    const features = tfidf.preprocess(text);
    assert.equal(Object.prototype.toString.call(features), '[object Float32Array]');
    assert.deepEqual(features, expectedDense(i), `text ${i}: ${text}`);
  });
});

test('tfidf: only the first max_length tokens count', () => {
  const long = cases.texts.find((text) => tokenize(text).length > cases.max_length);
  assert.ok(long, 'the fixture has a text longer than max_length');
  const kept = tokenize(long).slice(0, cases.max_length).join(' ');
  assert.deepEqual(tfidf.preprocess(long), tfidf.preprocess(kept));
});

test('tfidf: the files may be passed parsed', () => {
  const parsed = createPreprocessor(JSON.parse(tfidfFile), JSON.parse(vocabText), JSON.parse(idfText));
  cases.texts.forEach((text) => assert.deepEqual(parsed.preprocess(text), tfidf.preprocess(text)));
});

test('tfidf: createPreprocessor refuses a missing or foreign idf.json, naming the problem', () => {
  const sha256 = JSON.parse(idfText).vocab_sha256;
  const refused = (idf) => refusal(() => createPreprocessor(tfidfFile, vocabText, idf));
  const edited = (change) => {
    const copy = JSON.parse(idfText);
    change(copy);
    return copy;
  };
  assert.equal(refused(undefined)?.message,
    'this bundle is a tfidf model: createPreprocessor needs its idf.json as the third argument');
  assert.match(refused(null)?.message, /needs its idf\.json/);
  assert.equal(refused(edited((j) => { j.format = 'other'; }))?.message,
    'idf.json is not in the kiln-idf format (format other)');
  const foreign = `idf.json does not belong to this bundle (expected ${vocabSize} values for the ` +
                  `vocabulary with sha256 ${sha256})`;
  assert.equal(refused(edited((j) => { j.vocab_sha256 = '0'.repeat(64); }))?.message, foreign);
  assert.equal(refused(edited((j) => { j.idf.pop(); }))?.message, foreign);
  assert.equal(refused(edited((j) => { j.idf[3] = '1.5'; }))?.message,
    'idf.json value 3 is 1.5, not a finite number >= 0');
  assert.match(refused(edited((j) => { j.idf[4] = -1; }))?.message, /^idf\.json value 4 is -1,/);
  assert.match(refused('{"format": "kiln-idf"')?.message, /^idf\.json is not JSON: /);
});

test('tfidf: predict feeds float32 [1, VOCAB_SIZE] to the model and ranks its output', () => {
  // A real tfjs softmax layer over the features, with fixed weights.
  const classes = cases.classes.length;
  const model = tf.sequential({
    layers: [tf.layers.dense({ inputShape: [vocabSize], units: classes, activation: 'softmax' })],
  });
  const kernel = Float32Array.from({ length: vocabSize * classes }, (_, i) => Math.sin(i) * 3);
  model.setWeights([tf.tensor2d(kernel, [vocabSize, classes]), tf.zeros([classes])]);
  const calls = [];
  const spy = { ...tf, tensor2d: (values, shape, dtype) => {
    calls.push({ shape, dtype });
    return tf.tensor2d(values, shape, dtype);
  } };
  cases.texts.forEach((text, i) => {
    const top = tfidf.predict(spy, model, text, 3);
    const probabilities = tf.tidy(() =>
      model.predict(tf.tensor2d(expectedDense(i), [1, vocabSize])).dataSync());
    assert.deepEqual(JSON.parse(JSON.stringify(top)),
      JSON.parse(JSON.stringify(tfidf.topClasses(probabilities, 3))), `text ${i}`);
  });
  assert.equal(calls.length, cases.texts.length);
  for (const call of calls) assert.deepEqual({ shape: Array.from(call.shape), dtype: call.dtype },
    { shape: [1, vocabSize], dtype: 'float32' });
  model.dispose();
});

test('article: preprocess gives the C++ ids, with or without an idf.json', () => {
  const given = createPreprocessor(articleFile, vocabText, idfText);
  cases.texts.forEach((text, i) => {
    assert.deepEqual(article.preprocess(text), cases.ids[i], `text ${i}`);
    assert.deepEqual(given.preprocess(text), cases.ids[i], `text ${i}`);
  });
});
