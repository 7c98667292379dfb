// The JavaScript twin against tests/golden/text-vectors.json, the same file
// the C++ tests read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  SPEC_VERSION, buildVocabIndex, cleanText, encode, encodeText, tokenize,
} from '../kiln-text.js';

const goldenPath = fileURLToPath(
  new URL('../../../tests/golden/text-vectors.json', import.meta.url));
const golden = JSON.parse(readFileSync(goldenPath, 'utf8'));
const vocabIndex = buildVocabIndex(golden.vocabulary);

// Raw bytes reach JavaScript as a string decoded the way browsers decode
// text: invalid sequences become U+FFFD, which the spec reads as a separator.
function caseText(c) {
  if (c.text_hex === undefined) return c.text;
  return new TextDecoder('utf-8').decode(Buffer.from(c.text_hex, 'hex'));
}

test('golden file is for this spec version', () => {
  assert.equal(golden.spec_version, SPEC_VERSION);
});

for (const c of golden.cases) {
  test(`golden: ${c.name}`, () => {
    const text = caseText(c);
    const tokens = tokenize(text);
    assert.deepEqual(tokens, c.tokens);
    assert.equal(cleanText(text), c.tokens.join(' '));
    assert.deepEqual(encode(tokens, vocabIndex, c.max_length), c.ids);
    assert.deepEqual(encodeText(text, vocabIndex, c.max_length), c.ids);
  });
}

// JavaScript strings can hold lone surrogates, which no UTF-8 input can
// produce: the spec makes them separators, like U+FFFD.
test('lone surrogates separate like U+FFFD', () => {
  assert.deepEqual(tokenize('ab\uD800cd\uDC00ef'), tokenize('ab\uFFFDcd\uFFFDef'));
  assert.deepEqual(tokenize('\uDC00\uD800x'), tokenize('x'));
});

test('encode rejects a max length that is not a positive integer', () => {
  for (const bad of [0, -1, 2.5, NaN, '4', undefined]) {
    assert.throws(() => encode([], vocabIndex, bad), RangeError);
  }
});

test('buildVocabIndex requires the reserved words first', () => {
  assert.throws(() => buildVocabIndex(['the', '<oov>']));
  assert.throws(() => buildVocabIndex(['<pad>']));
});
