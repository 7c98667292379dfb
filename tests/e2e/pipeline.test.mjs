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
});

test('kiln jobs cancel stops a running job within 5 s and its workers take the next job', async () => {
  const long = stack.json(['train', '--world-size', '2', '--epochs', '500', '--detach']);
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

test('a worker killed with SIGKILL mid-job: the job resumes from its checkpoint and completes', async () => {
  const submitted = stack.json(['train', '--epochs', '60', '--detach']);
  const running = await waitFor('three epochs', () => {
    const current = job(submitted.id);
    return Number(current.epochs_done) >= 3 ? current : null;
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
  // The evaluation service is stopped (SIGSTOP) before the last epoch ends,
  // so the cancel lands while rank 0 waits for its score.
  const evaluation = stack.pid('evaluation');
  const submitted = stack.json(['train', '--model', 'cancelled-in-evaluation', '--epochs', '3',
    '--detach']);
  await waitFor('the first epoch', () => Number(job(submitted.id).epochs_done) >= 1, 300000, 50);
  process.kill(evaluation, 'SIGSTOP');
  let worker;
  try {
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
