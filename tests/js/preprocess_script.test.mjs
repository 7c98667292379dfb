// Generated preprocess.js scripts of both architectures
// (services/model/preprocess_script.cc), run as classic scripts, against the
// C++ ids and TF-IDF features of tests/model/preprocess_script_fixture.cc:
//   - tfidf: preprocess(text) is the dense Float32Array(VOCAB_SIZE) of the
//     C++ features, bit for bit, for every text; createPreprocessor demands
//     this bundle's idf.json and names what is wrong with another;
//   - predict feeds float32 [1, VOCAB_SIZE] to a real tfjs model;
//   - article: preprocess(text) is still the C++ ids, idf.json or not.
//
// KILN_PREPROCESS_FIXTURE_DIR names the fixture's output (ctest sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { runPreprocessScript, tf } from './tfjs_bundle_io.mjs';

const fixtureDir = process.env.KILN_PREPROCESS_FIXTURE_DIR;
assert.ok(fixtureDir, 'KILN_PREPROCESS_FIXTURE_DIR is not set; run this suite through ctest');
const read = (path) => readFileSync(join(fixtureDir, path), 'utf8');
const cases = JSON.parse(read('cases.json'));
const vocabText = read('vocab.json');
const idfText = read('idf.json');
const tfidf = runPreprocessScript(read('tfidf/preprocess.js'));
const article = runPreprocessScript(read('article/preprocess.js'));
const vocabSize = JSON.parse(vocabText).words.length;

// The C++ features of case i, dense. The script's arrays belong to its own
// realm: copies compare with this realm's.
function expectedDense(i) {
  const dense = new Float32Array(vocabSize);
  cases.features[i].ids.forEach((id, k) => { dense[id] = cases.features[i].values[k]; });
  return dense;
}

test('each script declares its architecture and the model constants', () => {
  assert.equal(tfidf.ARCHITECTURE, 'tfidf');
  assert.equal(article.ARCHITECTURE, 'article');
  for (const kiln of [tfidf, article]) {
    assert.equal(kiln.MAX_LENGTH, cases.max_length);
    assert.equal(kiln.VOCAB_SIZE, vocabSize);
    assert.deepEqual(Array.from(kiln.CLASSES), cases.classes);
  }
});

test('tfidf: preprocess gives the C++ features of every text, bit for bit', () => {
  const preprocess = tfidf.createPreprocessor(vocabText, idfText);
  assert.ok(cases.features.some((f) => f.ids.length === 0), 'some texts have no known word');
  cases.texts.forEach((text, i) => {
    const features = preprocess(text);
    assert.equal(Object.prototype.toString.call(features), '[object Float32Array]');
    assert.deepEqual(new Float32Array(features), expectedDense(i), `text ${i}: ${text}`);
  });
});

test('tfidf: only the first MAX_LENGTH tokens count', () => {
  const preprocess = tfidf.createPreprocessor(vocabText, idfText);
  const long = cases.texts.find((text) => tfidf.tokenize(text).length > cases.max_length);
  assert.ok(long, 'the fixture has a text longer than MAX_LENGTH');
  const kept = tfidf.tokenize(long).slice(0, cases.max_length).join(' ');
  assert.deepEqual(new Float32Array(preprocess(long)), new Float32Array(preprocess(kept)));
});

test('tfidf: vocab.json and idf.json may be passed parsed', () => {
  const fromText = tfidf.createPreprocessor(vocabText, idfText);
  const parsed = tfidf.createPreprocessor(JSON.parse(vocabText), JSON.parse(idfText));
  cases.texts.forEach((text) => assert.deepEqual(new Float32Array(parsed(text)),
    new Float32Array(fromText(text))));
});

test('tfidf: createPreprocessor refuses a missing or foreign idf.json, naming the problem', () => {
  const sha256 = JSON.parse(idfText).vocab_sha256;
  const refusal = (idf) => {
    try {
      tfidf.createPreprocessor(vocabText, idf);
    } catch (error) {
      return error;
    }
    return null;
  };
  const edited = (change) => {
    const copy = JSON.parse(idfText);
    change(copy);
    return copy;
  };
  assert.match(refusal(undefined)?.message,
    /^this bundle is a tfidf model: createPreprocessor needs its idf\.json/);
  assert.match(refusal(null)?.message, /needs its idf\.json/);
  assert.equal(refusal(edited((j) => { j.format = 'other'; }))?.message,
    'idf.json is not in the kiln-idf format (format other)');
  const foreign = `idf.json does not belong to this bundle (expected ${vocabSize} values for the ` +
                  `vocabulary with sha256 ${sha256})`;
  assert.equal(refusal(edited((j) => { j.vocab_sha256 = '0'.repeat(64); }))?.message, foreign);
  assert.equal(refusal(edited((j) => { j.idf.pop(); }))?.message, foreign);
  assert.equal(refusal(edited((j) => { j.idf[3] = '1.5'; }))?.message,
    'idf.json value 3 is 1.5, not a finite number >= 0');
  assert.match(refusal(edited((j) => { j.idf[4] = -1; }))?.message, /^idf\.json value 4 is -1,/);
  // Not JSON: the parser's own error (from the script's realm).
  assert.equal(refusal('{"format": "kiln-idf"')?.name, 'SyntaxError');
  // The vocabulary is still checked first.
  assert.throws(() => tfidf.createPreprocessor('{"spec_version": "kiln-text-0"}', idfText),
    /vocab\.json is for preprocessing spec kiln-text-0/);
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
  const preprocess = tfidf.createPreprocessor(vocabText, idfText);
  cases.texts.forEach((text, i) => {
    const top = tfidf.predict(spy, model, preprocess, text, 3);
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

test('article: preprocess still gives the C++ ids, with or without an idf.json', () => {
  const plain = article.createPreprocessor(vocabText);
  const given = article.createPreprocessor(vocabText, idfText);
  cases.texts.forEach((text, i) => {
    assert.deepEqual(Array.from(plain(text)), cases.ids[i], `text ${i}`);
    assert.deepEqual(Array.from(given(text)), cases.ids[i], `text ${i}`);
  });
});
