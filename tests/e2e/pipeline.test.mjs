// Kiln end to end on one machine: quickstart's stack (PostgreSQL, every
// service, two workers) trains and publishes the article's model, then the
// training, registry and deployment acceptance of K3, K4 and K6 run
// against it, one after another.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { loadBundle } from '../js/tfjs_bundle_io.mjs';
import { isRunning, processesMentioning, repoRoot, startStack, waitFor } from './stack.mjs';

const TOPICS = ['comp.graphics', 'comp.sys.mac.hardware', 'rec.autos', 'rec.sport.hockey',
  'sci.med', 'sci.space', 'talk.politics.guns', 'soc.religion.christian'];

let stack;

before(async () => {
  // Short leases so that a killed worker's job is re-queued within seconds.
  stack = await startStack({ env: { KILN_LEASE_TTL: '4', KILN_HEARTBEAT_INTERVAL: '0.5' } });
});

after(() => {
  if (!stack) return;
  const pids = stack.pids();
  assert.equal(stack.stop(), 0, 'quickstart.sh stop failed');
  for (const pid of pids) assert.equal(isRunning(pid), false, `process ${pid} outlived stop`);
  assert.deepEqual(processesMentioning(stack.stateDir), [], 'processes left behind by stop');
  stack.remove();
});

function job(id) {
  return stack.json(['jobs', 'show', id]);
}


// The job's events, from `kiln --json jobs watch` (it returns at the end).
function events(id) {
  const result = stack.run(['--json', 'jobs', 'watch', id]);
  return {
    status: result.status,
    list: result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)),
  };
}

// K10: a finished job's validation as its events and its record show it:
// figures every epoch, the lowest validation loss as the shipped epoch, and
// an early stop exactly `patience` epochs after it.
function checkValidation(id) {
  const done = job(id);
  const watched = events(id);
  assert.equal(watched.status, 0);
  const epochs = new Map();  // the newest report of each epoch
  for (const e of watched.list) {
    if (e.epoch_finished) epochs.set(Number(e.epoch_finished.epoch), e.epoch_finished);
  }
  assert.equal(epochs.size, Number(done.epochs_done));
  let best = null;
  for (const [epoch, e] of [...epochs].sort((a, b) => a[0] - b[0])) {
    assert.ok(Number(e.validation_examples) > 0, `epoch ${epoch} has validation figures`);
    assert.ok(Number.isFinite(e.validation_loss) && e.validation_loss > 0, `epoch ${epoch}`);
    assert.ok(e.validation_recall_at_1 > 0 && e.validation_recall_at_1 <= e.validation_recall_at_3);
    if (!best || e.validation_loss < best.validation_loss) best = e;
  }
  assert.equal(Number(done.best_epoch.epoch), best.epoch, 'the shipped epoch has the lowest loss');
  assert.equal(done.best_epoch.validation_loss, best.validation_loss);
  const stop = watched.list.find((e) => e.early_stopped);
  const patience = Number(done.spec.early_stopping_patience ?? 0);
  if (patience > 0 && Number(done.epochs_done) < done.spec.epochs) {
    assert.ok(stop, 'an early stop is reported');
    assert.equal(Number(done.epochs_done), best.epoch + patience);
    assert.equal(stop.early_stopped.best_epoch, best.epoch);
    assert.equal(stop.early_stopped.epoch, Number(done.epochs_done));
  } else {
    assert.equal(stop, undefined, 'no early stop without patience or before the last epoch');
  }
  console.log(`${id}: ${done.epochs_done} epochs, ships epoch ${best.epoch} (validation loss ` +
    `${best.validation_loss.toFixed(4)}, recall@1 ${best.validation_recall_at_1.toFixed(4)} on ` +
    `${best.validation_examples} posts)`);
  return { done, best };
}

test('the quickstart keeps its PostgreSQL crash-safe', () => {
  // K8: it used the test clusters' fsync=off, which a power cut can corrupt.
  const uri = readFileSync(join(stack.stateDir, 'pg/uri'), 'utf8').trim();
  for (const setting of ['fsync', 'full_page_writes', 'synchronous_commit']) {
    const shown = spawnSync('/usr/lib/postgresql/15/bin/psql', ['-XAtq', uri, '-c', `SHOW ${setting}`],
      { encoding: 'utf8' });
    assert.equal(shown.status, 0, shown.stderr);
    assert.equal(shown.stdout.trim(), 'on', setting);
  }
});

test('quickstart publishes news version 1 with recall@1 >= 0.85 and serves it', async () => {
  const shown = stack.json(['models', 'show', 'news']);
  const v1 = shown.versions.versions.find((v) => Number(v.version) === 1);
  assert.ok(v1, 'version 1 is listed');
  assert.ok(v1.metrics['recall@1'] >= 0.85, `recall@1 ${v1.metrics['recall@1']}`);
  const { done } = checkValidation(v1.lineage.job_id);
  assert.equal(done.spec.validation_fraction, 0.1, 'validation is on by default');
  assert.equal(done.spec.early_stopping_patience, 3, 'early stopping is on by default');

  const manifest = await fetch(`${stack.httpBase}/v1/models/news/aliases/latest/manifest.json`);
  assert.equal(manifest.status, 200);
  assert.ok(manifest.headers.get('etag'));
  assert.equal((await manifest.json()).classes.length, 8);

  if (existsSync(join(repoRoot, 'clients/web/index.html'))) {
    const page = await fetch(`${stack.httpBase}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type'), /text\/html/);
  }
});

test('an 8-topic job of world size 2 on two workers completes with recall@1 >= 0.85', () => {
  const submitted = stack.json(['train', '--world-size', '2', '--detach']);
  const watched = stack.run(['jobs', 'watch', submitted.id]);
  assert.equal(watched.status, 0, watched.stdout + watched.stderr);
  const done = job(submitted.id);
  assert.equal(done.state, 'JOB_STATE_SUCCEEDED');
  assert.equal(done.workers.length, 2);
  assert.notEqual(done.workers[0], done.workers[1]);
  assert.ok(done.result.metrics['recall@1'] >= 0.85, `recall@1 ${done.result.metrics['recall@1']}`);
  // Each rank scores the whole validation set, not its shard: the same
  // posts as a job of one rank.
  const { best } = checkValidation(submitted.id);
  const v1 = stack.json(['models', 'show', 'news']).versions.versions
    .find((v) => Number(v.version) === 1);
  assert.equal(best.validation_examples, job(v1.lineage.job_id).best_epoch.validation_examples);
});

test('kiln jobs cancel stops a running job within 5 s and its workers take the next job', async () => {
  const long = stack.json(['train', '--world-size', '2', '--epochs', '500', '--patience', '0',
    '--detach']);
  await waitFor('the long job to train', () => Number(job(long.id).epochs_done) >= 1);
  const next = stack.json(['train', '--epochs', '1', '--detach']);
  assert.equal(job(next.id).state, 'JOB_STATE_QUEUED');

  const cancelled = stack.run(['jobs', 'cancel', long.id]);
  assert.equal(cancelled.status, 0, cancelled.stderr);
  const longEvents = events(long.id);
  assert.equal(longEvents.status, 4, 'watching a cancelled job exits 4');
  const cancelEvent = longEvents.list.find((e) => e.state_changed?.to === 'JOB_STATE_CANCELLED');
  const nextEvents = events(next.id);
  assert.equal(nextEvents.status, 0);
  const runEvent = nextEvents.list.find((e) => e.state_changed?.to === 'JOB_STATE_RUNNING');
  // Server-side times: the cancel, then a freed worker starting the next job.
  const seconds = (Date.parse(runEvent.time) - Date.parse(cancelEvent.time)) / 1000;
  console.log(`next job started ${seconds.toFixed(2)} s after the cancel`);
  assert.ok(seconds < 5, `the next job started ${seconds} s after the cancel`);
  assert.ok(job(long.id).workers.includes(job(next.id).workers[0]));
});

test('a worker killed with SIGKILL mid-job: the job resumes and ships its best epoch', async () => {
  // No early stop: the job must outlast the kill, and train long past its
  // best epoch, whose weights the resumed attempt must still ship.
  const submitted = stack.json(['train', '--epochs', '200', '--patience', '0', '--detach']);
  // Checkpoints are stored in the background: wait for the third's.
  const running = await waitFor('the checkpoint of epoch 3', () => {
    const current = job(submitted.id);
    return Number(current.checkpoint_epoch) >= 3 ? current : null;
  });
  const victim = running.workers[0];  // "quickstart-N"
  process.kill(stack.pid(`worker-${victim.split('-').pop()}`), 'SIGKILL');

  const watched = events(submitted.id);
  assert.equal(watched.status, 0, 'the job completes');
  const resumed = watched.list.find((e) => e.resumed);
  assert.ok(resumed, 'the events show a resume');
  assert.equal(resumed.attempt, 2);
  assert.ok(Number(resumed.resumed.epoch) >= 3, `resumed after epoch ${resumed.resumed.epoch}`);
  const requeue = watched.list.find((e) => e.state_changed?.to === 'JOB_STATE_QUEUED' && e.attempt === 1);
  assert.match(requeue.state_changed.reason, /expired/);
  const done = job(submitted.id);
  assert.equal(done.state, 'JOB_STATE_SUCCEEDED');
  assert.notEqual(done.workers[0], victim);

  // K10: the published bundle, run by the real @tensorflow/tfjs on the
  // validation posts, scores what the job reported of its best epoch.
  const { best } = checkValidation(submitted.id);
  const dir = mkdtempSync(join(tmpdir(), 'kiln-resumed-'));
  const base = `${stack.httpBase}/v1/models/${done.result.model}/versions/${done.result.version}`;
  const manifest = await (await fetch(`${base}/manifest.json`)).json();
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
  for (const file of manifest.files) {
    const response = await fetch(`${base}/${file.path}`);
    assert.equal(response.status, 200, file.path);
    writeFileSync(join(dir, file.path), Buffer.from(await response.arrayBuffer()));
  }
  const bundle = await loadBundle(dir);
  rmSync(dir, { recursive: true, force: true });
  const posts = stack.run(['posts', '--categories', TOPICS.join(','), '--years', '1922-1953',
    '--holdout', '0.1']);
  assert.equal(posts.status, 0, posts.stderr);
  const held = posts.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(held.length, Number(best.validation_examples));
  const probabilities = bundle.predict(held.map((post) => post.text));
  let loss = 0;
  let hits = 0;
  held.forEach((post, i) => {
    const p = probabilities[i];
    const label = manifest.classes.indexOf(post.category);
    loss -= Math.log(Math.max(p[label], 1e-7));
    hits += p.every((q, c) => q < p[label] || (q === p[label] && c >= label)) ? 1 : 0;
  });
  console.log(`shipped epoch ${best.epoch} of 60: tfjs validation loss ` +
    `${(loss / held.length).toFixed(6)} vs ${best.validation_loss.toFixed(6)}`);
  assert.ok(Math.abs(loss / held.length - best.validation_loss) < 1e-4,
    `tfjs loss ${loss / held.length}, best epoch ${best.epoch} reported ${best.validation_loss}`);
  // float32 in tfjs and libtorch may order a near tie differently.
  assert.ok(Math.abs(hits / held.length - best.validation_recall_at_1) <= 1.5 / held.length);
});

test('registry: latest moves, production is promoted, HTTP revalidates, tfjs agrees with kiln predict', async () => {
  const shown = stack.json(['models', 'show', 'news']);
  const newest = Math.max(...shown.versions.versions.map((v) => Number(v.version)));
  assert.ok(newest >= 2);
  const latest = shown.model.aliases.find((a) => a.name === 'latest');
  assert.equal(Number(latest.version), newest);

  const promoted = stack.json(['promote', 'news', '1', '--alias', 'production']);
  assert.equal(Number(promoted.version), 1);
  const production = await fetch(`${stack.httpBase}/v1/models/news/aliases/production/manifest.json`);
  const v1 = await fetch(`${stack.httpBase}/v1/models/news/versions/1/manifest.json`);
  assert.equal(production.status, 200);
  const productionText = await production.text();
  assert.equal(productionText, await v1.text());
  const etag = production.headers.get('etag');
  const revalidated = await fetch(`${stack.httpBase}/v1/models/news/aliases/production/manifest.json`,
    { headers: { 'If-None-Match': etag } });
  assert.equal(revalidated.status, 304);

  // The files of version 1 over HTTP, loaded by the real @tensorflow/tfjs.
  const dir = mkdtempSync(join(tmpdir(), 'kiln-bundle-'));
  const manifest = JSON.parse(productionText);
  writeFileSync(join(dir, 'manifest.json'), productionText);
  for (const file of manifest.files) {
    const response = await fetch(`${stack.httpBase}/v1/models/news/versions/1/${file.path}`);
    assert.equal(response.status, 200, file.path);
    writeFileSync(join(dir, file.path), Buffer.from(await response.arrayBuffer()));
  }
  const bundle = await loadBundle(dir);

  const posts = stack.run(['posts', '--categories', TOPICS.join(','), '--years', '1990-2000',
    '--limit', '100']);
  assert.equal(posts.status, 0, posts.stderr);
  const lines = posts.stdout.trim().split('\n');
  assert.equal(lines.length, 100);
  const postsFile = join(dir, 'posts.jsonl');
  writeFileSync(postsFile, posts.stdout);
  const predicted = stack.run(['--json', 'predict', 'news:1', '--file', postsFile, '-k', '1']);
  assert.equal(predicted.status, 0, predicted.stderr);
  const cli = predicted.stdout.trim().split('\n').map((l) => JSON.parse(l).topics[0].topic);

  const probabilities = bundle.predict(lines.map((l) => JSON.parse(l).text));
  const browser = probabilities.map((p) => manifest.classes[p.indexOf(Math.max(...p))]);
  rmSync(dir, { recursive: true, force: true });
  assert.deepEqual(browser, cli);
});

test('a job cancelled while its bundle is being evaluated publishes nothing', async () => {
  // The evaluation service is stopped (SIGSTOP) before the job starts (its
  // three epochs take well under a second), so the cancel lands while rank
  // 0 waits for its score.
  const evaluation = stack.pid('evaluation');
  process.kill(evaluation, 'SIGSTOP');
  let worker;
  let submitted;
  try {
    submitted = stack.json(['train', '--model', 'cancelled-in-evaluation', '--epochs', '3',
      '--patience', '0', '--detach']);
    const trained = await waitFor('the last epoch', () => {
      const current = job(submitted.id);
      return Number(current.epochs_done) >= 3 ? current : null;
    });
    worker = `worker-${trained.workers[0].split('-').pop()}`;
    const cancelled = stack.run(['jobs', 'cancel', submitted.id]);
    assert.equal(cancelled.status, 0, cancelled.stderr);
  } finally {
    process.kill(evaluation, 'SIGCONT');
  }
  await waitFor('the worker to drop the cancelled job',
    () => stack.log(worker).includes(`${submitted.id}: stopped, the lease was cancelled`));
  assert.equal(job(submitted.id).state, 'JOB_STATE_CANCELLED');
  const shown = stack.run(['models', 'show', 'cancelled-in-evaluation']);
  assert.notEqual(shown.status, 0, `a version was published:\n${shown.stdout}`);
  assert.match(shown.stderr, /not found|no model/i);
});
