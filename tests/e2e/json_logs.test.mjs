// K11: KILN_LOG_FORMAT=json gives one JSON object per line. A stack started
// with it ingests the corpus and trains the quickstart's job; every line
// every service and worker wrote meanwhile must parse, with the fields a log
// pipeline indexes (time, level, program, message), the job on the worker's
// lines about it and the RPC and request id on lines a call handler wrote.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { startStack } from './stack.mjs';

const SERVICES = ['data', 'preprocess', 'training', 'evaluation', 'registry'];
const LEVELS = new Set(['debug', 'info', 'warning', 'error']);
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let stack;
// name -> the parsed lines of logs/<name>.log
const logs = {};

before(async () => {
  stack = await startStack({ env: { KILN_LOG_FORMAT: 'json' }, workers: 1 });
});

after(() => {
  if (stack) {
    stack.stop();
    stack.remove();
  }
});

test('every line of every service and worker is one JSON object with time, level, program and message', () => {
  const files = readdirSync(join(stack.stateDir, 'logs')).filter((name) => name.endsWith('.log'));
  for (const name of [...SERVICES, 'worker-1']) assert.ok(files.includes(`${name}.log`), `${name}.log in ${files}`);
  for (const file of files) {
    const name = file.slice(0, -'.log'.length);
    const text = readFileSync(join(stack.stateDir, 'logs', file), 'utf8');
    const lines = text.split('\n').filter((line) => line !== '');
    assert.ok(lines.length > 0, `${file} has lines`);
    logs[name] = lines.map((line, i) => {
      let parsed;
      assert.doesNotThrow(() => { parsed = JSON.parse(line); }, `${file}:${i + 1} is not JSON: ${line}`);
      assert.equal(typeof parsed, 'object', `${file}:${i + 1}`);
      assert.match(parsed.time, TIME, `${file}:${i + 1} time`);
      assert.ok(LEVELS.has(parsed.level), `${file}:${i + 1} level ${parsed.level}`);
      assert.equal(parsed.program, name.startsWith('worker-') ? 'kiln-worker' : `kiln-${name}`, `${file}:${i + 1}`);
      assert.equal(typeof parsed.message, 'string', `${file}:${i + 1} message`);
      return parsed;
    });
  }
});

test('lines about the job carry its id; lines of a call carry its RPC and request id', () => {
  assert.ok(logs.training, 'needs the parsed logs of the previous test');
  const queued = logs.training.find((line) => line.message.startsWith('queued '));
  assert.ok(queued, 'the training service logged the queued job');
  assert.equal(queued.rpc, '/kiln.v1.TrainingService/SubmitJob');
  assert.match(queued.request_id, /^[0-9a-f]{16}$/);
  const jobId = queued.message.split(' ')[1];

  const epochs = logs['worker-1'].filter((line) => line.message.startsWith('epoch '));
  assert.ok(epochs.length > 0, 'the worker logged its epochs');
  for (const line of epochs) assert.equal(line.job, jobId, JSON.stringify(line));

  const published = logs.registry.find((line) => line.message.startsWith('published news version 1'));
  assert.ok(published, 'the registry logged the publish');
  assert.match(published.rpc, /^\/kiln\.v1\.RegistryService\//);
  // Request ids name one call each.
  assert.notEqual(published.request_id, queued.request_id);
});
