// K4's parity bar on a trained model and real posts: bundles of the seed
// article's classifier, trained in libtorch on 20 Newsgroups
// (tests/model/trained_bundle_fixture.cc), loaded with the real
// @tensorflow/tfjs; 500 test posts preprocessed by each bundle's own
// preprocess.js.
//   - preprocess.js gives the C++ encoder's ids for every post;
//   - every encoding: tfjs's probabilities equal libtorch's on the same
//     bundle (float32 within 1e-5; the C++ reader dequantizes like tfjs);
//   - float16 and uint8 stay close to float32, and uint8 picks float32's top
//     topic for at least 99% of the posts.
//
// KILN_TRAINED_BUNDLE_FIXTURE_DIR names the fixture's output (ctest sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadBundle, argmax, maxAbsDiff } from './tfjs_bundle_io.mjs';

const fixtureDir = process.env.KILN_TRAINED_BUNDLE_FIXTURE_DIR;
assert.ok(fixtureDir, 'KILN_TRAINED_BUNDLE_FIXTURE_DIR is not set; run this suite through ctest');
const cases = JSON.parse(readFileSync(join(fixtureDir, 'cases.json'), 'utf8'));

// tfjs and libtorch on the same weights, both in float32: only the order of
// additions differs. K4 sets 1e-5 for float32; the quantized bundles' weights
// are as exact on both sides (the C++ reader dequantizes like tfjs), but K4
// sets no bar, so they get twice as much room. Measured (4 epochs): float32
// 4.7e-6, float16 5.4e-7, uint8 8.9e-6.
const PROBABILITY_TOLERANCE = { float32: 1e-5, float16: 2e-5, uint8: 2e-5 };
const MIN_TOP1_AGREEMENT = 0.99;
// Quantized against float32 (tfjs both): half floats keep 11 significant
// bits; uint8 leaves an error of up to scale/2 in every weight. Measured:
// float16 1.2e-3, uint8 0.14.
const MAX_DIFF_FROM_FLOAT32 = { float16: 5e-3, uint8: 0.25 };
// The fixture's model must be right on most posts, or agreement on the top
// topic between encodings would be a weak test. Measured: 0.83.
const MIN_FLOAT32_ACCURACY = 0.75;

const loaded = new Map();
async function bundle(name) {
  if (!loaded.has(name)) {
    const b = await loadBundle(join(fixtureDir, cases.bundles[name].dir));
    loaded.set(name, { ...b, probabilities: b.predict(cases.texts) });
  }
  return loaded.get(name);
}

test('the fixture holds 500 real posts and three encodings', () => {
  assert.equal(cases.texts.length, 500);
  assert.equal(cases.ids.length, 500);
  assert.deepEqual(Object.keys(cases.bundles).sort(), ['float16', 'float32', 'uint8']);
  // Spread over all eight topics.
  assert.equal(new Set(cases.labels).size, cases.classes.length);
});

for (const name of Object.keys(cases.bundles)) {
  const expected = cases.bundles[name];

  test(`${name}: tf.loadLayersModel loads the bundle`, async () => {
    const { model, manifest } = await bundle(name);
    assert.equal(manifest.model.weight_encoding, expected.weight_encoding);
    assert.deepEqual(manifest.classes, cases.classes);
    assert.deepEqual(model.inputs[0].shape, [null, manifest.preprocessing.max_length]);
    assert.deepEqual(model.outputs[0].shape, [null, cases.classes.length]);
  });

  test(`${name}: preprocess.js encodes all 500 posts like the C++ encoder`, async () => {
    const { preprocess } = await bundle(name);
    cases.texts.forEach((text, i) => assert.deepEqual(preprocess(text), cases.ids[i], `post ${i}`));
  });

  test(`${name}: tfjs probabilities equal libtorch's within ${PROBABILITY_TOLERANCE[name]}`, async (t) => {
    const { probabilities } = await bundle(name);
    const diff = maxAbsDiff(probabilities, expected.probabilities);
    const agreement = probabilities.filter((row, i) => argmax(row) === argmax(expected.probabilities[i])).length /
                      probabilities.length;
    t.diagnostic(`${name}: max |tfjs - libtorch| = ${diff.toExponential(2)}, top-1 agreement ${agreement} ` +
                 `over ${cases.texts.length} posts`);
    assert.ok(diff <= PROBABILITY_TOLERANCE[name], `max abs diff ${diff}`);
  });
}

test('float32 is right on most posts', async (t) => {
  const { probabilities } = await bundle('float32');
  const accuracy = probabilities.filter((row, i) => argmax(row) === cases.labels[i]).length / probabilities.length;
  t.diagnostic(`float32: top-1 accuracy ${accuracy} on ${probabilities.length} test posts`);
  assert.ok(accuracy >= MIN_FLOAT32_ACCURACY, `accuracy ${accuracy}`);
});

for (const name of ['float16', 'uint8']) {
  test(`${name}: close to float32 and agrees on the top topic for >= 99% of posts`, async (t) => {
    const reference = (await bundle('float32')).probabilities;
    const { probabilities, manifest } = await bundle(name);
    const diff = maxAbsDiff(probabilities, reference);
    const agreement = probabilities.filter((row, i) => argmax(row) === argmax(reference[i])).length /
                      probabilities.length;
    const bytes = (m) => m.files.reduce((sum, file) => sum + file.size, 0);
    t.diagnostic(`${name}: max |${name} - float32| = ${diff.toExponential(2)}, top-1 agreement with float32 ` +
                 `${agreement}; bundle ${bytes(manifest)} bytes, float32 ${bytes((await bundle('float32')).manifest)}`);
    assert.ok(diff <= MAX_DIFF_FROM_FLOAT32[name], `max abs diff from float32 ${diff}`);
    assert.ok(agreement >= MIN_TOP1_AGREEMENT, `top-1 agreement ${agreement}`);
  });
}
