// Bundles written by C++ (tests/model/bundle_fixture.cc) against the real
// @tensorflow/tfjs: tf.loadLayersModel loads every weight encoding, the
// dequantized weights are bit-identical to what the C++ reader computes, the
// bundle's preprocess.json read by Kiln's library (clients/text) encodes text
// like the C++ encoder, and the
// probabilities match a plain C++ forward pass.
//
// KILN_BUNDLE_FIXTURE_DIR names the fixture's output (ctest sets it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

import { createPreprocessor } from '../../clients/text/kiln-preprocess.js';
import { loadBundle, readBundleFiles, sha256Hex, tf, argmax, maxAbsDiff } from './tfjs_bundle_io.mjs';

const fixtureDir = process.env.KILN_BUNDLE_FIXTURE_DIR;
assert.ok(fixtureDir, 'KILN_BUNDLE_FIXTURE_DIR is not set; run this suite through ctest');
const cases = JSON.parse(readFileSync(join(fixtureDir, 'cases.json'), 'utf8'));

// tfjs's cpu backend and the C++ pass both compute in float32 from the same
// weights; only summation order differs.
const PROBABILITY_TOLERANCE = 1e-5;
// K4's bar for quantized bundles against float32 on the same texts.
const MIN_TOP1_AGREEMENT = 0.99;

const loaded = new Map();
async function bundle(name) {
  if (!loaded.has(name)) loaded.set(name, await loadBundle(join(fixtureDir, cases.bundles[name].dir)));
  return loaded.get(name);
}

for (const name of Object.keys(cases.bundles)) {
  const expected = cases.bundles[name];

  test(`${name}: tf.loadLayersModel loads the bundle`, async () => {
    const { model, manifest } = await bundle(name);
    assert.equal(manifest.model.weight_encoding, expected.weight_encoding);
    assert.deepEqual(model.inputs[0].shape, [null, manifest.preprocessing.max_length]);
    assert.deepEqual(model.outputs[0].shape, [null, manifest.classes.length]);
  });

  test(`${name}: tfjs dequantizes to the C++ reader's weights, bit for bit`, async () => {
    const { model } = await bundle(name);
    const hashes = {};
    for (const weight of model.weights) {
      const values = weight.read().dataSync();
      hashes[weight.originalName] = sha256Hex(Buffer.from(values.buffer, values.byteOffset, values.byteLength));
    }
    assert.deepEqual(hashes, expected.weight_sha256);
  });

  test(`${name}: preprocess.json with Kiln's library encodes like the C++ encoder`, async () => {
    const { preprocess } = await bundle(name);
    cases.texts.forEach((text, i) => assert.deepEqual(preprocess(text), expected.ids[i], `text ${i}`));
  });

  test(`${name}: probabilities match the C++ forward pass`, async (t) => {
    const { predict } = await bundle(name);
    const diff = maxAbsDiff(predict(cases.texts), expected.probabilities);
    t.diagnostic(`${name}: max |tfjs - C++| = ${diff.toExponential(2)} over ${cases.texts.length} texts`);
    assert.ok(diff <= PROBABILITY_TOLERANCE, `max abs diff ${diff}`);
  });
}

// uint8's top-1 agreement is checked where it means something: on 500 real
// posts with a trained model (trained_bundle_parity.test.mjs). On this
// random model, folding the padding row (padding_fold.h) doubles the
// embedding's range, so its agreement says nothing about real bundles.
for (const name of ['float16']) {
  test(`${name}: agrees with float32 on the top class`, async (t) => {
    const reference = (await bundle('float32')).predict(cases.texts).map(argmax);
    const quantized = (await bundle(name)).predict(cases.texts).map(argmax);
    const agreement = quantized.filter((top, i) => top === reference[i]).length / reference.length;
    const bytes = (manifest) => manifest.files.reduce((sum, file) => sum + file.size, 0);
    t.diagnostic(`${name}: top-1 agreement with float32 ${agreement}; bundle ${bytes((await bundle(name)).manifest)} ` +
                 `bytes, float32 ${bytes((await bundle('float32')).manifest)}`);
    assert.ok(agreement >= MIN_TOP1_AGREEMENT, `top-1 agreement ${agreement}`);
  });
}

test('float32 loads over HTTP as a browser would, with the same result', async () => {
  const dir = join(fixtureDir, cases.bundles.float32.dir);
  const { files } = readBundleFiles(dir);
  const server = createServer((request, response) => {
    const file = files.get(request.url.slice(1));
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(file);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const model = await tf.loadLayersModel(`http://127.0.0.1:${server.address().port}/model.json`);
    const { predictInputs } = await bundle('float32');
    const ids = cases.bundles.float32.ids;
    const viaHttp = tf.tidy(() => model.predict(tf.tensor2d(ids.flat(), [ids.length, ids[0].length], 'int32')).arraySync());
    assert.equal(maxAbsDiff(predictInputs(ids).map((row) => Array.from(row)), viaHttp), 0);
  } finally {
    server.close();
  }
});

test("the library's predict ranks the classes", async () => {
  const { model, kiln, manifest, predict } = await bundle('float32');
  const text = cases.texts[0];
  const top = kiln.predict(tf, model, text, 3);
  const probabilities = predict([text])[0];
  assert.equal(top.length, 3);
  assert.equal(top[0].label, manifest.classes[argmax(probabilities)]);
  assert.ok(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability);
  assert.equal(kiln.maxLength, manifest.preprocessing.max_length);
  assert.deepEqual(kiln.classes, manifest.classes);
});

test("preprocess.json refuses the vocabulary of another bundle", () => {
  const own = readFileSync(join(fixtureDir, 'float32', 'preprocess.json'), 'utf8');
  const otherVocab = readFileSync(join(fixtureDir, cases.bundles['flatten-float32'].dir, 'vocab.json'), 'utf8');
  assert.throws(() => createPreprocessor(own, otherVocab), /does not belong to this bundle/);
});

test('a bundle of format 2 carries no code: its files are JSON and weight shards', () => {
  for (const { dir } of Object.values(cases.bundles)) {
    const { manifest } = readBundleFiles(join(fixtureDir, dir));
    assert.equal(manifest.format_version, 2);
    for (const { path } of manifest.files) {
      assert.match(path, /^(model|vocab|preprocess|idf)\.json$|^group1-shard\d+of\d+\.bin$/, `${dir}/${path}`);
    }
    assert.ok(manifest.files.some((file) => file.path === 'preprocess.json'), `${dir} has preprocess.json`);
  }
});
