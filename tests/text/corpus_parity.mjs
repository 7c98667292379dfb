// Second half of the whole-corpus parity test (run_corpus_parity.cmake):
// re-encodes every post dumped by kiln_text_parity_dump with the JavaScript
// twin and stops at the first token or id that differs, or at the first
// TF-IDF feature vector with other ids or a value more than 1e-7 away
// (docs/preprocessing.md, section 6: only the platforms' ln may differ, in
// the last bit of a float64).
//
//   node corpus_parity.mjs <dump_dir>
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const twinPath = fileURLToPath(new URL('../../clients/text/kiln-text.js', import.meta.url));
const { SPEC_VERSION, buildVocabIndex, encode, tfidfFeatures, tokenize } = await import(twinPath);

const dir = process.argv[2];
const meta = JSON.parse(readFileSync(`${dir}/meta.json`, 'utf8'));
const vocab = JSON.parse(readFileSync(`${dir}/vocab.json`, 'utf8'));
const vocabIndex = buildVocabIndex(vocab.words);
const idfJson = JSON.parse(readFileSync(`${dir}/idf.json`, 'utf8'));
const FEATURE_TOLERANCE = 1e-7;

function fail(message) {
  console.error(`PARITY FAILURE: ${message}`);
  process.exit(1);
}

function window(list, at) {
  return JSON.stringify(list.slice(Math.max(0, at - 5), at + 6));
}

if (meta.spec_version !== SPEC_VERSION || vocab.spec_version !== SPEC_VERSION) {
  fail(`C++ implements ${meta.spec_version}, JavaScript ${SPEC_VERSION}`);
}
if (idfJson.format !== 'kiln-idf' || idfJson.vocab_sha256 !== vocab.sha256 ||
    idfJson.idf.length !== vocab.words.length) {
  fail('idf.json is not the kiln-idf of vocab.json');
}

let posts = 0;
let tokenCount = 0;
let featureCount = 0;
let inexact = 0;
let maxDiff = 0;
const lines = createInterface({ input: createReadStream(`${dir}/posts.jsonl`), crlfDelay: Infinity });
for await (const line of lines) {
  const post = JSON.parse(line);
  const tokens = tokenize(post.text);
  const ids = encode(tokens, vocabIndex, meta.max_length);
  const length = Math.max(tokens.length, post.tokens.length);
  for (let i = 0; i < length; i++) {
    if (tokens[i] !== post.tokens[i]) {
      fail(`${post.path}: token ${i} is ${JSON.stringify(post.tokens[i])} in C++ ` +
           `but ${JSON.stringify(tokens[i])} in JavaScript\n` +
           `  C++ tokens ${i - 5}..: ${window(post.tokens, i)}\n` +
           `  JS  tokens ${i - 5}..: ${window(tokens, i)}\n` +
           `  text: ${JSON.stringify(post.text)}`);
    }
  }
  for (let i = 0; i < meta.max_length; i++) {
    if (ids[i] !== post.ids[i]) {
      fail(`${post.path}: id ${i} (token ${JSON.stringify(tokens[i])}) is ${post.ids[i]} ` +
           `in C++ but ${ids[i]} in JavaScript`);
    }
  }
  const features = tfidfFeatures(ids, idfJson.idf);
  if (JSON.stringify(features.ids) !== JSON.stringify(post.features.ids)) {
    fail(`${post.path}: TF-IDF ids ${JSON.stringify(post.features.ids)} in C++ but ` +
         `${JSON.stringify(features.ids)} in JavaScript`);
  }
  features.values.forEach((value, i) => {
    const diff = Math.abs(value - post.features.values[i]);
    if (!(diff <= FEATURE_TOLERANCE)) {
      fail(`${post.path}: TF-IDF feature of id ${features.ids[i]} is ${post.features.values[i]} ` +
           `in C++ but ${value} in JavaScript`);
    }
    if (diff > 0) inexact++;
    maxDiff = Math.max(maxDiff, diff);
  });
  featureCount += features.ids.length;
  posts++;
  tokenCount += tokens.length;
}
if (posts !== meta.posts) fail(`read ${posts} posts, C++ wrote ${meta.posts}`);
console.log(`JavaScript: ${posts} texts, ${tokenCount} tokens, all tokens and ids identical; ` +
            `${featureCount} TF-IDF features, same ids, ${inexact} not bit-identical, ` +
            `max |C++ - JS| ${maxDiff}`);
