// K4's and K10's parity bar on trained models and real posts: bundles of the
// seed article's classifier and of the tfidf model, trained in libtorch on
// 20 Newsgroups (tests/model/trained_bundle_fixture.cc), loaded with the real
// @tensorflow/tfjs; 500 test posts preprocessed by Kiln's library
// (clients/text) from each bundle's preprocess.json.
//   - Kiln's library gives the C++ encoder's ids for every post, or for a
//     tfidf bundle the C++ TF-IDF features (same ids, values within 1e-7);
//   - every bundle: tfjs's probabilities equal libtorch's on the same
//     bundle (float32 within 1e-5; the C++ reader dequantizes like tfjs);
//   - float16 and uint8 stay close to float32 of the same model, and uint8
//     picks float32's top topic for at least 99% of the posts.
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
// 1.9e-6, float16 4.8e-7, uint8 1.9e-6; tfidf float32 2.4e-7, uint8 2.4e-7.
const PROBABILITY_TOLERANCE = { float32: 1e-5, float16: 2e-5, uint8: 2e-5 };
const MIN_TOP1_AGREEMENT = 0.99;
// Quantized against float32 (tfjs both): half floats keep 11 significant
// bits; uint8 leaves an error of up to scale/2 in every weight. Measured:
// float16 6.0e-4, uint8 3.0e-2; tfidf uint8 7.4e-3.
const MAX_DIFF_FROM_FLOAT32 = { float16: 5e-3, uint8: 0.25 };
// The fixture's models must be right on most posts, or agreement on the top
// topic between encodings would be a weak test. Measured: article 0.83,
// tfidf 0.954.
const MIN_FLOAT32_ACCURACY = { article: 0.75, tfidf: 0.9 };
// docs/preprocessing.md, section 6: C++ and JavaScript may differ only where
// the platforms' ln differ in the last bit of a float64.
const FEATURE_TOLERANCE = 1e-7;
// The float32 bundle of each architecture, the reference of its encodings.
const FLOAT32 = { article: 'float32', tfidf: 'tfidf-float32' };

const loaded = new Map();
async function bundle(name) {
  if (!loaded.has(name)) {
    const b = await loadBundle(join(fixtureDir, cases.bundles[name].dir));
    loaded.set(name, { ...b, probabilities: b.predict(cases.texts) });
  }
  return loaded.get(name);
}

test('the fixture holds 500 real posts and five bundles', () => {
  assert.equal(cases.texts.length, 500);
  assert.equal(cases.ids.length, 500);
  assert.equal(cases.features.length, 500);
  assert.deepEqual(Object.keys(cases.bundles).sort(),
    ['float16', 'float32', 'tfidf-float32', 'tfidf-uint8', 'uint8']);
  // Spread over all eight topics.
  assert.equal(new Set(cases.labels).size, cases.classes.length);
});

// The share of rows whose most probable class is the same in both.
function topAgreement(rows, reference) {
  return rows.filter((row, i) => argmax(row) === argmax(reference[i])).length / rows.length;
}

// Checks dense features (a Float32Array) against C++'s sparse ones.
function assertFeatures(dense, expected, what) {
  const ids = [];
  dense.forEach((value, id) => { if (value !== 0) ids.push(id); });
  assert.deepEqual(ids, expected.ids, `${what}: the ids with a feature`);
  let max = 0;
  expected.ids.forEach((id, k) => {
    max = Math.max(max, Math.abs(dense[id] - expected.values[k]));
  });
  assert.ok(max <= FEATURE_TOLERANCE, `${what}: max |JS - C++| = ${max}`);
  return max;
}

for (const name of Object.keys(cases.bundles)) {
  const expected = cases.bundles[name];
  const tfidf = expected.architecture === 'tfidf';
  const encoding = expected.weight_encoding;

  test(`${name}: tf.loadLayersModel loads the bundle`, async () => {
    const { model, manifest, kiln } = await bundle(name);
    assert.equal(manifest.model.weight_encoding, encoding);
    assert.equal(manifest.model.architecture ?? 'article', expected.architecture);
    assert.equal(kiln.input, tfidf ? 'tfidf' : 'ids');
    assert.deepEqual(manifest.classes, cases.classes);
    const width = tfidf ? manifest.preprocessing.vocab_size : manifest.preprocessing.max_length;
    assert.deepEqual(model.inputs[0].shape, [null, width]);
    assert.deepEqual(model.outputs[0].shape, [null, cases.classes.length]);
  });

  if (tfidf) {
    test(`${name}: Kiln's library gives the C++ TF-IDF features of all 500 posts`, async (t) => {
      const { preprocess } = await bundle(name);
      let max = 0;
      cases.texts.forEach((text, i) => {
        max = Math.max(max, assertFeatures(preprocess(text), cases.features[i], `post ${i}`));
      });
      t.diagnostic(`${name}: max |JS - C++| over the features of 500 posts = ${max}`);
    });
  } else {
    test(`${name}: Kiln's library encodes all 500 posts like the C++ encoder`, async () => {
      const { preprocess } = await bundle(name);
      cases.texts.forEach((text, i) =>
        assert.deepEqual(preprocess(text), cases.ids[i], `post ${i}`));
    });
  }

  test(`${name}: tfjs probabilities equal libtorch's within ${PROBABILITY_TOLERANCE[encoding]}`,
    async (t) => {
      const { probabilities } = await bundle(name);
      const diff = maxAbsDiff(probabilities, expected.probabilities);
      const agreement = topAgreement(probabilities, expected.probabilities);
      t.diagnostic(`${name}: max |tfjs - libtorch| = ${diff.toExponential(2)}, top-1 agreement ` +
                   `${agreement} over ${cases.texts.length} posts`);
      assert.ok(diff <= PROBABILITY_TOLERANCE[encoding], `max abs diff ${diff}`);
    });
}

for (const [architecture, name] of Object.entries(FLOAT32)) {
  test(`${name} is right on most posts`, async (t) => {
    const { probabilities } = await bundle(name);
    const accuracy = probabilities.filter((row, i) => argmax(row) === cases.labels[i]).length /
                     probabilities.length;
    t.diagnostic(`${name}: top-1 accuracy ${accuracy} on ${probabilities.length} test posts`);
    assert.ok(accuracy >= MIN_FLOAT32_ACCURACY[architecture], `accuracy ${accuracy}`);
  });
}

const quantized = Object.keys(cases.bundles)
  .filter((name) => cases.bundles[name].weight_encoding !== 'float32');
for (const name of quantized) {
  const { architecture, weight_encoding: encoding } = cases.bundles[name];
  const reference = FLOAT32[architecture];
  test(`${name}: close to ${reference}, agrees on the top topic for >= 99% of posts`, async (t) => {
    const float32 = await bundle(reference);
    const { probabilities, manifest } = await bundle(name);
    const diff = maxAbsDiff(probabilities, float32.probabilities);
    const agreement = topAgreement(probabilities, float32.probabilities);
    const bytes = (m) => m.files.reduce((sum, file) => sum + file.size, 0);
    t.diagnostic(`${name}: max |${name} - ${reference}| = ${diff.toExponential(2)}, top-1 ` +
                 `agreement ${agreement}; bundle ${bytes(manifest)} bytes, ${reference} ` +
                 `${bytes(float32.manifest)}`);
    assert.ok(diff <= MAX_DIFF_FROM_FLOAT32[encoding], `max abs diff from float32 ${diff}`);
    assert.ok(agreement >= MIN_TOP1_AGREEMENT, `top-1 agreement ${agreement}`);
  });
}
