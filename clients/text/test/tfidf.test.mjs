// tfidfFeatures against tests/golden/tfidf-vectors.json, the same file the
// C++ tests read (tests/text/golden_test.cc).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { SPEC_VERSION, denseFeatures, tfidfFeatures } from '../kiln-text.js';

const goldenPath = fileURLToPath(
  new URL('../../../tests/golden/tfidf-vectors.json', import.meta.url));
const golden = JSON.parse(readFileSync(goldenPath, 'utf8'));

// The file holds shortest decimals; the expected values are their float32s.
const float32s = (values) => Array.from(new Float32Array(values));

test('golden file is for this spec version', () => {
  assert.equal(golden.spec_version, SPEC_VERSION);
  assert.ok(golden.cases.length > 0);
});

for (const c of golden.cases) {
  test(`tfidf golden: ${c.name}`, () => {
    const features = tfidfFeatures(c.ids, golden.idf);
    assert.deepEqual(features.ids, c.features.ids);
    assert.ok(features.values instanceof Float32Array);
    // Exact: both sides follow the same float64 steps and round once.
    assert.deepEqual(Array.from(features.values), float32s(c.features.values));
    // A Float32Array idf (already rounded) gives the same.
    assert.deepEqual(tfidfFeatures(c.ids, new Float32Array(golden.idf)), features);
  });
}

test('denseFeatures puts each value at its id and zeros elsewhere', () => {
  const c = golden.cases.find((each) => each.features.ids.length > 1);
  const dense = denseFeatures(tfidfFeatures(c.ids, golden.idf), golden.idf.length);
  assert.ok(dense instanceof Float32Array);
  assert.equal(dense.length, golden.idf.length);
  const expected = new Float32Array(golden.idf.length);
  c.features.ids.forEach((id, i) => { expected[id] = c.features.values[i]; });
  assert.deepEqual(dense, expected);
  assert.deepEqual(denseFeatures(tfidfFeatures([0, 1], golden.idf), 4), new Float32Array(4));
});

test('ids outside the idf table are refused', () => {
  for (const bad of [golden.idf.length, -1, 2.5, NaN, undefined]) {
    assert.throws(() => tfidfFeatures([2, bad], golden.idf), RangeError, String(bad));
  }
});
