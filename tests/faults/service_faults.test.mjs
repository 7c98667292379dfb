// Fault suite: services SIGKILLed, a worker SIGTERMed, a worker cut off
// from the network, PostgreSQL's disk full, the registry killed under HTTP
// load — one test each, on one quickstart stack (every service, two
// workers), because the quickstart's ingest and first training cost 90 s
// that five stacks would pay five times. Each test leaves the stack whole
// (every service running) and checks that nothing stored by an earlier one
// was lost: posts, every version's manifest and files (fetched over HTTP,
// sha256-checked), aliases.
//
// The services listen on 0.0.0.0 (KILN_GRPC_BIND), so that a worker in its
// own network namespace reaches them through a veth pair; PostgreSQL's data
// directory is on a tmpfs of its own, so that a test can fill it.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { buildDir, isRunning, repoRoot, sleep, startStack, waitFor } from '../e2e/stack.mjs';

const LEASE_TTL_S = 10;
// Room for the corpus, the news model, the versions published here and
// PostgreSQL's write-ahead log (max_wal_size 1 GB); the disk-full test
// shrinks it to what is used plus a little before filling that.
const PG_DISK = '2560m';
let stack;
const cleanups = [];  // run in reverse order by after(), whatever failed
const published = new Map();  // model -> versions published by the tests, for later checks

before(async () => {
  stack = await startStack({
    env: {
      KILN_LEASE_TTL: String(LEASE_TTL_S), KILN_HEARTBEAT_INTERVAL: '1', KILN_GRPC_BIND: '0.0.0.0',
    },
    prepare: (stateDir) => {
      const mount = join(stateDir, 'pg');
      mkdirSync(mount);
      command('mount', ['-t', 'tmpfs', '-o', `size=${PG_DISK},mode=0755`, 'kiln-pg', mount]);
      cleanups.push(() => spawnSync('umount', ['-l', mount]));
    },
  });
});

after(() => {
  if (stack) {
    stack.stop();
    // The cluster's files go before its filesystem.
    spawnSync(join(repoRoot, 'tests/support/pg-cluster.sh'), ['halt', join(stack.stateDir, 'pg')]);
  }
  for (const cleanup of cleanups.reverse()) cleanup();
  if (stack) stack.remove();
});

function command(program, args) {
  const result = spawnSync(program, args, { encoding: 'utf8' });
  assert.equal(result.status, 0, `${program} ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const seconds = (ms) => (ms / 1000).toFixed(1);
const showJob = (id) => stack.json(['jobs', 'show', id]);

// Waits for the process to be gone after a SIGKILL (it is the stack's
// child's child, so there is no exit event to wait for).
async function kill(name) {
  const pid = stack.pid(name);
  process.kill(pid, 'SIGKILL');
  await waitFor(`${name} (${pid}) to die`, () => !isRunning(pid), 10000, 20);
}

// A GET's status and body. Without `agent`, a connection of its own: a
// pooled one may be closed by the server's idle timeout as it is reused.
function getBytes(url, agent = false) {
  return new Promise((done, resolveFailure) => {
    let request;
    // `reused`: the connection was closed under a request sent on it again
    // (keep-alive), before any answer; HTTP lets a client retry a GET then.
    const fail = (error) => resolveFailure(Object.assign(new Error(`GET ${url}: ${error.message}`),
      { reused: request.reusedSocket && !request.res }));
    request = http.get(url, { agent }, (response) => {
      const chunks = [];
      response.on('data', (chunk) => chunks.push(chunk));
      response.on('end', () => done({ status: response.statusCode, body: Buffer.concat(chunks) }));
      response.on('error', fail);
    });
    request.setTimeout(15000, () => request.destroy(new Error('no answer in 15 s')));
    request.on('error', fail);
  });
}

// A version's manifest and files as browsers get them; each must match
// the sha256 the registry's gRPC API gives (the manifest) or the manifest
// lists (the files). Returns the URLs with their sha256, for the load test.
async function checkBundle(model, version) {
  const base = `${stack.httpBase}/v1/models/${model}/versions/${version.version}`;
  const manifest = await getBytes(`${base}/manifest.json`);
  assert.equal(manifest.status, 200, `${base}/manifest.json`);
  assert.equal(sha256(manifest.body), version.manifest_sha256,
    `${model}:${version.version} manifest`);
  const targets = [{ url: `${base}/manifest.json`, sha256: version.manifest_sha256 }];
  for (const file of JSON.parse(manifest.body).files) {
    const got = await getBytes(`${base}/${file.path}`);
    assert.equal(got.status, 200, `${base}/${file.path}`);
    assert.equal(sha256(got.body), file.sha256, `${model}:${version.version} ${file.path}`);
    targets.push({ url: `${base}/${file.path}`, sha256: file.sha256 });
  }
  return targets;
}

function modelState(model) {
  const shown = stack.json(['models', 'show', model]);
  return {
    versions: shown.versions.versions.map((v) => ({
      version: v.version, manifest_sha256: v.manifest_sha256,
    })),
    aliases: shown.model.aliases.map((a) => `${a.name}:${a.version}`).sort(),
  };
}

// What was stored before a test: the posts, the news model, and every
// version the earlier tests published, with their aliases.
function snapshot() {
  const models = {};
  for (const model of ['news', ...published.keys()]) models[model] = modelState(model);
  return { stats: stack.json(['stats']), models };
}

// Nothing of `before` is lost or changed, and every version's files are
// still served whole.
async function assertKept(before) {
  assert.deepEqual(stack.json(['stats']), before.stats, 'posts per category unchanged');
  for (const [model, state] of Object.entries(before.models)) {
    assert.deepEqual(modelState(model), state, `${model}: versions and aliases unchanged`);
    for (const version of state.versions) await checkBundle(model, version);
  }
}

// The published version of a finished job; `model` must have no other.
async function checkOnlyVersion(model, job) {
  const state = modelState(model);
  assert.equal(state.versions.length, 1, `${model}: exactly one version published`);
  assert.equal(Number(state.versions[0].version), Number(job.result.version));
  assert.deepEqual(state.aliases, [`latest:${state.versions[0].version}`]);
  await checkBundle(model, state.versions[0]);
  published.set(model, state.versions);
}

function watch(id) {
  const watched = stack.run(['--json', 'jobs', 'watch', id]);
  const events = watched.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  return { status: watched.status, stderr: watched.stderr, events };
}

// Why each attempt but the last ended, from the job's events.
function requeues(events) {
  return events.filter((e) => e.state_changed?.to === 'JOB_STATE_QUEUED' && Number(e.attempt) > 0)
    .map((e) => e.state_changed.reason);
}

test('every service SIGKILLed in turn during a job and restarted: the job completes, nothing lost',
  async () => {
    const before = snapshot();
    // The lease holder's death costs one attempt; the registry down at the
    // publish costs none (rank 0 waits for it). Long enough to be still
    // training after the five restarts (about 3 s each; an epoch takes
    // about 0.15 s).
    const submitted = stack.json(['train', '--model', 'kills', '--epochs', '400',
      '--patience', '0', '--max-attempts', '2', '--detach']);
    await waitFor('a first epoch', () => Number(showJob(submitted.id).epochs_done) >= 1);

    // The control and data planes, one at a time, while the worker trains.
    const down = {};
    for (const name of ['data', 'preprocess', 'training', 'evaluation', 'registry']) {
      const killedAt = Date.now();
      await kill(name);
      await stack.restart(name);
      down[name] = Date.now() - killedAt;
    }
    const running = showJob(submitted.id);
    assert.equal(running.state, 'JOB_STATE_RUNNING');
    assert.equal(Number(running.attempt), 1, 'no control-plane restart cost the attempt');

    // The worker holding the lease: its attempt lapses after the lease TTL
    // and the job resumes from its last checkpoint. The registry is killed
    // with it and kept down until the next attempt's rank 0 has found it
    // gone at the publish.
    const holder = `worker-${/quickstart-(\d+)/.exec(running.workers[0])[1]}`;
    const workerKilledAt = Date.now();
    await Promise.all([kill(holder), kill('registry')]);
    await stack.restart(holder);
    const second = await waitFor('the job leased again', () => {
      const job = showJob(submitted.id);
      return Number(job.attempt) >= 2 && job.state === 'JOB_STATE_RUNNING' && job;
    });
    down.worker = Date.now() - workerKilledAt;
    const publisher = `worker-${/quickstart-(\d+)/.exec(second.workers[0])[1]}`;
    await waitFor('the publish to wait for its registry',
      () => stack.log(publisher).includes(`${submitted.id}: publishing failed, retrying`), 300000);
    const registryKilledFor = Date.now() - workerKilledAt;
    await stack.restart('registry');
    down.registry_while_publishing = Date.now() - workerKilledAt;

    const watched = watch(submitted.id);
    const done = showJob(submitted.id);
    assert.equal(done.state, 'JOB_STATE_SUCCEEDED', `the job did not succeed: ${watched.stderr}`);
    const why = requeues(watched.events);
    assert.equal(why.length, Number(done.attempt) - 1, `attempts ended: ${why.join(' | ')}`);
    await checkOnlyVersion('kills', done);
    await assertKept(before);
    assert.equal(Number(done.attempt), 2, `attempts ended: ${why.join(' | ')}`);
    assert.match(why[0], /expired: no heartbeat/);
    console.log('# fault service-kills: injected SIGKILL of data, preprocess, training, ' +
      'evaluation, ' +
      `registry while training, then of the lease holder with the registry (down ` +
      `${seconds(registryKilledFor)} s, into the next attempt's publish); recovery (kill to ` +
      `healthy, or to the job leased again for the worker) ` +
      `${Object.entries(down).map(([n, ms]) => `${n} ${seconds(ms)} s`).join(', ')}; ` +
      'job succeeded ' +
      `on attempt ${done.attempt}; requests failed 0; data lost 0`);
  });

test('a worker stopped with SIGTERM gives its lease back: the attempt does not count', async () => {
  const before = snapshot();
  // One attempt allowed: a shutdown that counted would fail the job.
  const submitted = stack.json(['train', '--model', 'shutdown', '--epochs', '80',
    '--patience', '0', '--max-attempts', '1', '--detach']);
  const running = await waitFor('two epochs', () => {
    const job = showJob(submitted.id);
    return Number(job.epochs_done) >= 2 ? job : null;
  });
  const holder = `worker-${/quickstart-(\d+)/.exec(running.workers[0])[1]}`;
  const pid = stack.pid(holder);
  const stoppedAt = Date.now();
  process.kill(pid, 'SIGTERM');
  await waitFor(`${holder} to exit`, () => !isRunning(pid), 60000, 50);
  const exitedAfter = Date.now() - stoppedAt;
  await waitFor('the job leased again', () => Number(showJob(submitted.id).attempt) >= 2);
  const movedAfter = Date.now() - stoppedAt;
  await stack.restart(holder);

  const watched = watch(submitted.id);
  const done = showJob(submitted.id);
  assert.equal(done.state, 'JOB_STATE_SUCCEEDED', `the job did not succeed: ${watched.stderr}`);
  assert.equal(Number(done.attempt), 2);
  const why = requeues(watched.events);
  assert.equal(why.length, 1, why.join(' | '));
  assert.match(why[0], /shutting down.*given back and does not count/);
  await checkOnlyVersion('shutdown', done);
  await assertKept(before);
  console.log(`# fault worker-sigterm: injected SIGTERM of the lease holder; it exited after ` +
    `${seconds(exitedAfter)} s, the job was leased again after ${seconds(movedAfter)} s and ` +
    `succeeded on attempt 2 of max_attempts 1; requests failed 0; data lost 0`);
});

test('64 connections of HTTP load while the registry is SIGKILLed and restarted: ' +
  'errors only then, 0 wrong bytes',
  async () => {
    const before = snapshot();
    // Manifests (the alias's, revalidated by browsers, and versions') and
    // every file of every version, shards included.
    const news = before.models.news.versions[0];
    const targets = [{ url: `${stack.httpBase}/v1/models/news/aliases/latest/manifest.json`,
      sha256: news.manifest_sha256 }];
    for (const [model, state] of Object.entries(before.models)) {
      for (const version of state.versions) targets.push(...await checkBundle(model, version));
    }
    const LOAD_MS = 25000;
    const KILL_AFTER_MS = 8000;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
    const started = Date.now();
    const deadline = started + LOAD_MS;
    const failures = [];  // { at, error }
    let done = 0;
    let retried = 0;
    let wrong = 0;
    let next = 0;
    const connection = async () => {
      while (Date.now() < deadline) {
        const target = targets[next++ % targets.length];
        try {
          // As browsers do, once, for a kept-alive connection closed before it answered.
          const got = await getBytes(target.url, agent).catch((error) => {
            if (!error.reused) throw error;
            retried++;
            return getBytes(target.url, agent);
          });
          if (got.status !== 200) throw new Error(`HTTP ${got.status}`);
          if (sha256(got.body) !== target.sha256) wrong++;
        } catch (error) {
          failures.push({ at: Date.now(), error: error.message });  // names the URL
          await sleep(100);  // as a client would, rather than spin on a closed port
        }
        done++;
      }
    };
    const load = Promise.all(Array.from({ length: 64 }, connection));
    await sleep(KILL_AFTER_MS);
    const killedAt = Date.now();
    await kill('registry');
    await stack.restart('registry');
    const restartedAt = Date.now();
    await load;
    agent.destroy();

    // In flight at the kill, or sent before the new registry answered its
    // health check; a second's slack for the last of those to be counted.
    const outside = failures.filter((f) => f.at < killedAt || f.at > restartedAt + 1000)
      .map((f) => `${seconds(f.at - killedAt)} s after the kill (back at ` +
        `${seconds(restartedAt - killedAt)} s): ${f.error}`);
    assert.equal(wrong, 0, 'bodies that do not match their sha256');
    assert.deepEqual(outside, [], 'requests failed outside the restart window');
    assert.ok(done - failures.length > 1000, `only ${done - failures.length} requests succeeded`);
    await assertKept(before);
    console.log('# fault registry-under-load: injected SIGKILL of the registry ' +
      `${seconds(killedAt - started)} s ` +
      `into ${seconds(LOAD_MS)} s of 64-connection load on ${targets.length} URLs; recovery ` +
      `${seconds(restartedAt - killedAt)} s; requests done ${done}, ` +
      `failed ${failures.length}, failed ` +
      `outside the window ${outside.length}, retried on a closed keep-alive connection ` +
      `${retried}, wrong bytes ${wrong}; data lost 0`);
  });

// A worker in its own network namespace, reaching the services through a
// veth pair on a private /30; its link is set down from the host's side.
function isolatedWorker() {
  const tag = Math.floor(Math.random() * 1e6).toString(36);
  const [namespace, hostEnd, workerEnd] = [`kiln-${tag}`, `kh${tag}`, `kw${tag}`];
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 250)}`;
  const [hostAddress, workerAddress] = [`${subnet}.1`, `${subnet}.2`];
  command('ip', ['netns', 'add', namespace]);
  cleanups.push(() => spawnSync('ip', ['netns', 'del', namespace]));
  command('ip', ['link', 'add', hostEnd, 'type', 'veth', 'peer', 'name', workerEnd]);
  cleanups.push(() => spawnSync('ip', ['link', 'del', hostEnd]));
  command('ip', ['link', 'set', workerEnd, 'netns', namespace]);
  command('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostEnd]);
  command('ip', ['link', 'set', hostEnd, 'up']);
  const inside = (...args) => command('ip', ['netns', 'exec', namespace, 'ip', ...args]);
  inside('addr', 'add', `${workerAddress}/30`, 'dev', workerEnd);
  inside('link', 'set', workerEnd, 'up');
  inside('link', 'set', 'lo', 'up');

  const via = (address) => address.replace('127.0.0.1', hostAddress);
  const logPath = join(stack.stateDir, 'logs', 'isolated-worker.log');
  const log = openSync(logPath, 'a');
  const binary = join(buildDir, 'services/worker/kiln-worker');
  const worker = spawn('ip', ['netns', 'exec', namespace, binary], {
    env: {
      ...process.env,
      KILN_TOKEN: stack.writerToken,
      KILN_LISTEN: `${workerAddress}:7006`,
      KILN_WORKER_NAME: 'isolated',
      KILN_WORKER_HOST: workerAddress,
      KILN_TRAINING_ADDRESS: via(stack.cliEnv.KILN_TRAINING_ADDRESS),
      KILN_PREPROCESS_ADDRESS: via(stack.cliEnv.KILN_PREPROCESS_ADDRESS),
      KILN_EVALUATION_ADDRESS: via(stack.cliEnv.KILN_EVALUATION_ADDRESS),
      KILN_REGISTRY_ADDRESS: via(stack.cliEnv.KILN_REGISTRY_ADDRESS),
    },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  cleanups.push(() => {
    if (worker.exitCode === null) worker.kill('SIGKILL');
  });
  return {
    cut: () => command('ip', ['link', 'set', hostEnd, 'down']),
    restore: () => command('ip', ['link', 'set', hostEnd, 'up']),
    log: () => readFileSync(logPath, 'utf8'),
    stop: async () => {
      worker.kill('SIGTERM');
      await waitFor('the isolated worker to exit', () => worker.exitCode !== null, 60000);
    },
  };
}

test('a worker cut off for two lease TTLs: the job moves on, its late writes are refused, ' +
  'one version',
  async () => {
    const before = snapshot();
    // Only the isolated worker may take the job: the stack's two wait.
    await Promise.all(['worker-1', 'worker-2'].map(async (name) => {
      const pid = stack.pid(name);
      process.kill(pid, 'SIGTERM');
      await waitFor(`${name} to exit`, () => !isRunning(pid), 60000);
    }));
    const isolated = isolatedWorker();
    await waitFor('the isolated worker to register',
      () => /registered as isolated/.test(isolated.log()), 60000);
    // Still training when the link goes down, after worker-1's restart.
    const submitted = stack.json(['train', '--model', 'partition', '--epochs', '150',
      '--patience', '0', '--max-attempts', '3', '--detach']);
    await waitFor('two epochs on the isolated worker', () => {
      const job = showJob(submitted.id);
      return Number(job.epochs_done) >= 2 && /isolated/.test(job.workers.join()) && job;
    });
    await stack.restart('worker-1');

    isolated.cut();
    const cutAt = Date.now();
    const moved = await waitFor('the job leased to another worker', () => {
      const job = showJob(submitted.id);
      return Number(job.attempt) === 2 && job.state === 'JOB_STATE_RUNNING' && job;
    }, 120000);
    const movedAfter = Date.now() - cutAt;
    assert.match(moved.workers.join(), /quickstart-1/);
    await sleep(Math.max(0, 2 * LEASE_TTL_S * 1000 - movedAfter));
    const logBefore = isolated.log().length;
    isolated.restore();
    const restoredAt = Date.now();

    // Back on the network, the isolated worker hears that its lease is
    // gone (heartbeat, or a refused checkpoint) and stops its attempt.
    const refusal = await waitFor('the isolated worker to learn its lease was lost', () => {
      const late = isolated.log().slice(logBefore);
      return /the lease was lost|is lost; the checkpoint is not kept/.exec(late)?.[0];
    }, 180000);
    const refusedAfter = Date.now() - restoredAt;

    const watched = watch(submitted.id);
    const done = showJob(submitted.id);
    assert.equal(done.state, 'JOB_STATE_SUCCEEDED', `the job did not succeed: ${watched.stderr}`);
    assert.equal(Number(done.attempt), 2,
      `attempts ended: ${requeues(watched.events).join(' | ')}`);
    assert.match(requeues(watched.events)[0], /isolated.*expired/);
    // Every epoch report after the move came from attempt 2: the late
    // worker's were not stored.
    const movedAt = watched.events.findIndex((e) => Number(e.attempt) === 2 &&
      e.state_changed?.to === 'JOB_STATE_RUNNING');
    assert.ok(movedAt > 0, 'the events show attempt 2 starting');
    const afterMove = watched.events.slice(movedAt).filter((e) => e.epoch_finished &&
      Number(e.attempt) === 1);
    assert.equal(afterMove.length, 0, 'no epoch the late worker trained after the move is stored');
    await checkOnlyVersion('partition', done);
    await assertKept(before);
    await isolated.stop();
    await stack.restart('worker-2');
    console.log(`# fault worker-partition: injected the isolated worker's link down for ` +
      `${seconds(restoredAt - cutAt)} s (lease TTL ${LEASE_TTL_S} s); recovery: job leased again ` +
      `${seconds(movedAfter)} s after the cut, the late worker refused ("${refusal}") ` +
      `${seconds(refusedAfter)} s after the link came back; ` +
      `late epoch reports kept ${afterMove.length}; ` +
      `1 version; requests failed 0; data lost 0`);
  });

// Fills the filesystem under PostgreSQL's data directory to the last byte
// (a tmpfs: its pages are memory, hence the shrinking first).
function fillDisk(path) {
  const mount = join(stack.stateDir, 'pg');
  const usedKiB = Number(command('df', ['--output=used', '-k', mount]).trim().split('\n')[1]);
  command('mount', ['-o', `remount,size=${usedKiB + 64 * 1024}k`, mount]);
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(1 << 20);
  let written = 0;
  try {
    for (;;) written += writeSync(fd, block);
  } catch (error) {
    if (error.code !== 'ENOSPC') throw error;
    // The last partial block, for a disk full to the byte.
    for (let size = block.length >> 1; size >= 512; size >>= 1) {
      try {
        written += writeSync(fd, block.subarray(0, size));
      } catch { /* no room for this much */ }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function publish(model) {
  const result = spawnSync(join(buildDir, 'bench/registry/kiln_bench_registry_publish'), [
    '--registry', stack.cliEnv.KILN_REGISTRY_ADDRESS, '--model', model,
    '--out', join(stack.stateDir, 'published'),
  ], { env: { ...process.env, KILN_TOKEN: stack.writerToken }, encoding: 'utf8', timeout: 120000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('the disk under PostgreSQL full during a publish: a clear error, nothing half-written, ' +
  'works once freed',
  async () => {
    const before = snapshot();
    const filler = join(stack.stateDir, 'pg', 'filler');
    const filled = fillDisk(filler);
    cleanups.push(() => { try { unlinkSync(filler); } catch { /* already freed */ } });
    const refused = publish('diskfull');
    assert.notEqual(refused.status, 0, `a publish on a full disk succeeded: ${refused.stdout}`);
    assert.match(refused.stderr, /RESOURCE_EXHAUSTED.*No space left on device/);
    // No model, version or alias came of it; nothing else changed.
    assert.notEqual(stack.run(['models', 'show', 'diskfull']).status, 0, 'a model was created');
    await assertKept(before);

    unlinkSync(filler);
    const freedAt = Date.now();
    const accepted = await waitFor('a publish to work again', () => {
      const attempt = publish('diskfull');
      return attempt.status === 0 && attempt;
    }, 120000, 1000);
    const recovery = Date.now() - freedAt;
    assert.equal(accepted.stdout.trim(), '1', 'the first version of diskfull');
    const state = modelState('diskfull');
    assert.equal(state.versions.length, 1);
    await checkBundle('diskfull', state.versions[0]);
    published.set('diskfull', state.versions);
    await assertKept(before);
    const pgLog = readFileSync(join(stack.stateDir, 'pg', 'server.log'), 'utf8');
    console.log('# fault postgres-disk-full: injected ' +
      `${(filled / 2 ** 20).toFixed(0)} MiB filler, ` +
      `0 bytes left under PostgreSQL ("${/No space left on device/.exec(refused.stderr)[0]}"; ` +
      `PostgreSQL PANICs: ${(pgLog.match(/PANIC/g) ?? []).length}); recovery: publish accepted ` +
      `${seconds(recovery)} s after freeing; requests failed 1 (the refused publish); data lost 0`);
  });
