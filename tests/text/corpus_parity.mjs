// Second half of the whole-corpus parity test (run_corpus_parity.cmake):
// re-encodes every post dumped by kiln_text_parity_dump with the JavaScript
// twin and stops at the first token or id that differs.
//
//   node corpus_parity.mjs <dump_dir>
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const twinPath = fileURLToPath(new URL('../../clients/text/kiln-text.js', import.meta.url));
const { SPEC_VERSION, buildVocabIndex, encode, tokenize } = await import(twinPath);

const dir = process.argv[2];
const meta = JSON.parse(readFileSync(`${dir}/meta.json`, 'utf8'));
const vocab = JSON.parse(readFileSync(`${dir}/vocab.json`, 'utf8'));
const vocabIndex = buildVocabIndex(vocab.words);

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

let posts = 0;
let tokenCount = 0;
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
  posts++;
  tokenCount += tokens.length;
}
if (posts !== meta.posts) fail(`read ${posts} posts, C++ wrote ${meta.posts}`);
console.log(`JavaScript: ${posts} texts, ${tokenCount} tokens, all tokens and ids identical`);
