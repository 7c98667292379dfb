// K7 acceptance: docker-compose.yml on a real Docker engine, as a user runs
// it, with the test's override (stand-ins for the postgres and nginx images).
// Run by deploy/compose-test.sh after it has built the images. The tests
// share one stack and run in order: up, users and ports, ingest and train,
// the web page, every CLI command, a killed worker and a restarted
// PostgreSQL, down and up again, down -v.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';

import { chromium } from 'playwright-core';

import { buildDir, freePorts, repoRoot, waitFor } from '../e2e/stack.mjs';

const project = `kilncompose${process.pid}`;
const datasetDir = resolve(process.env.KILN_DATASET_DIR || join(repoRoot, '../shared/datasets'));
const kilnBinary = join(buildDir, 'clients/cli/kiln');
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const KILN_SERVICES = ['data', 'preprocess', 'training', 'evaluation', 'registry', 'worker'];
const SPACE_POST = `The next shuttle launch was delayed again: NASA says the orbiter needs new
tiles on its heat shield before it can go back into orbit. The satellite they were
supposed to deploy waits at the Cape, and the moon and Mars missions lost funding.`;

const scratch = mkdtempSync(join(tmpdir(), 'kiln-compose-'));
const tokens = { admin: randomBytes(24).toString('hex'), writer: randomBytes(24).toString('hex'),
  reader: randomBytes(24).toString('hex') };
let ports;
let env;
const figures = {};

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { env, encoding: 'utf8', maxBuffer: 256 << 20,
    timeout: 20 * 60 * 1000, ...options });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function compose(...args) {
  return run('docker-compose', ['-p', project, '-f', join(repoRoot, 'docker-compose.yml'),
    '-f', join(repoRoot, 'tests/compose/docker-compose.test.yml'), ...args], { cwd: repoRoot });
}

function composeOk(...args) {
  const result = compose(...args);
  assert.equal(result.status, 0, `docker-compose ${args.join(' ')}:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

// `kiln ARGS` in the compose network: docker-compose run --rm cli ARGS.
function cliInside(args) {
  return compose('run', '--rm', '-T', 'cli', ...args);
}

// `kiln ARGS` on the host, through the published ports.
function cliOutside(args) {
  return run(kilnBinary, args, { env: { ...env, KILN_TOKEN: tokens.writer,
    KILN_DATA_ADDRESS: `127.0.0.1:${ports.data}`, KILN_PREPROCESS_ADDRESS: `127.0.0.1:${ports.preprocess}`,
    KILN_TRAINING_ADDRESS: `127.0.0.1:${ports.training}`, KILN_EVALUATION_ADDRESS: `127.0.0.1:${ports.evaluation}`,
    KILN_REGISTRY_ADDRESS: `127.0.0.1:${ports.registry}` } });
}

function lastJson(result, what) {
  assert.equal(result.status, 0, `${what} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]);
}

const kiln = (...args) => lastJson(cliOutside(['--json', ...args]), `kiln ${args.join(' ')}`);

// Containers of the project, as docker inspect objects.
function containers({ all = false } = {}) {
  const ids = run('docker', ['ps', '-q', ...(all ? ['-a'] : []), '--filter',
    `label=com.docker.compose.project=${project}`]).stdout.split('\n').filter(Boolean);
  if (ids.length === 0) return [];
  return JSON.parse(run('docker', ['inspect', ...ids]).stdout);
}

const serviceOf = (c) => c.Config.Labels['com.docker.compose.service'];


// Seconds until every container of the project reports healthy.
async function waitHealthy(expected) {
  const started = Date.now();
  await waitFor(`${expected} healthy containers`, () => {
    const list = containers();
    const healthy = list.filter((c) => c.State.Health?.Status === 'healthy');
    return list.length === expected && healthy.length === expected;
  }, 600000);
  return (Date.now() - started) / 1000;
}

function job(id) {
  return kiln('jobs', 'show', id);
}

function jobEvents(id) {
  const result = cliOutside(['--json', 'jobs', 'watch', id]);
  return { status: result.status,
    list: result.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line)) };
}

before(async () => {
  const block = await freePorts();
  ports = { data: block.base + 1, preprocess: block.base + 2, training: block.base + 3,
    evaluation: block.base + 4, registry: block.base + 5, registryHttp: block.base + 6, web: block.http };
  const envFile = join(scratch, 'kiln.env');
  writeFileSync(envFile, [
    `KILN_TOKENS=admin:${tokens.admin},writer:${tokens.writer},reader:${tokens.reader}`,
    `KILN_TOKEN=${tokens.writer}`,
    'KILN_PUBLIC_READS=true', ''].join('\n'));
  env = { ...process.env, DOCKER_BUILDKIT: '0', COMPOSE_DOCKER_CLI_BUILD: '0',
    KILN_ENV_FILE: envFile, KILN_DATASETS: datasetDir, KILN_POSTGRES_PASSWORD: randomBytes(12).toString('hex'),
    KILN_DATA_PORT: String(ports.data), KILN_PREPROCESS_PORT: String(ports.preprocess),
    KILN_TRAINING_PORT: String(ports.training), KILN_EVALUATION_PORT: String(ports.evaluation),
    KILN_REGISTRY_PORT: String(ports.registry), KILN_REGISTRY_HTTP_PORT: String(ports.registryHttp),
    KILN_WEB_PORT: String(ports.web) };
  assert.ok(existsSync(join(datasetDir, '20news-bydate.tar.gz')), `no corpus in ${datasetDir}`);
});

after(() => {
  // Whatever happened, leave nothing of the project behind.
  compose('down', '-v', '--remove-orphans', '-t', '5');
  rmSync(scratch, { recursive: true, force: true });
  console.log(`# compose figures: ${JSON.stringify(figures)}`);
});

test('up -d --scale worker=3: every service reaches healthy', async () => {
  composeOk('up', '-d', '--no-build', '--scale', 'worker=3');
  figures.secondsToHealthy = await waitHealthy(10);
  console.log(`# up -d to all 10 containers healthy: ${figures.secondsToHealthy.toFixed(1)} s`);
});

test('every Kiln container runs as a non-root user, and only the documented ports are published', () => {
  for (const container of containers()) {
    const service = serviceOf(container);
    if (service === 'postgres') continue;  // the official image's own user handling
    const uid = run('docker', ['exec', container.Id, 'id', '-u']).stdout.trim();
    assert.match(uid, /^\d+$/, `${service}: id -u`);
    assert.notEqual(uid, '0', `${service} runs as root`);
  }
  // The README's table of published ports (port, service, what, the
  // variable that moves it, which the test set), against what Docker
  // publishes; the gRPC ports only on 127.0.0.1.
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Deploying with docker-compose'));
  const rows = [...section.matchAll(/^\| (\d+) \| `(\w+)` \| [^|]+ \| `(KILN_\w+)` \|$/gm)];
  assert.ok(rows.length >= 7, `the README documents ${rows.length} ports`);
  const documented = rows.map((m) => `${m[2]}:${env[m[3]]}`).sort();
  const published = new Set();
  for (const container of containers()) {
    for (const [port, bindings] of Object.entries(container.NetworkSettings.Ports ?? {})) {
      for (const binding of bindings ?? []) {
        published.add(`${serviceOf(container)}:${binding.HostPort}`);
        if (/^700\d\//.test(port)) assert.equal(binding.HostIp, '127.0.0.1', `${serviceOf(container)} ${port}`);
      }
    }
  }
  assert.deepEqual([...published].sort(), documented);
});

test('cli ingest of the corpus, then cli train --world-size 2 publishes recall@1 >= 0.85', () => {
  const started = Date.now();
  const ingested = cliInside(['ingest', '/datasets/20news-bydate.tar.gz']);
  assert.equal(ingested.status, 0, ingested.stdout + ingested.stderr);
  figures.ingestSeconds = (Date.now() - started) / 1000;
  const stats = lastJson(cliInside(['--json', 'stats']), 'kiln stats');
  assert.equal(Number(stats.total), 18846, JSON.stringify(stats).slice(0, 300));

  const trainStarted = Date.now();
  // `kiln --json train` prints the submitted job, then its events.
  const training = cliInside(['--json', 'train', '--world-size', '2']);
  assert.equal(training.status, 0, training.stdout.slice(-2000) + training.stderr);
  const trained = JSON.parse(training.stdout.split('\n')[0]);
  figures.jobSeconds = (Date.now() - trainStarted) / 1000;
  console.log(`# ingest ${figures.ingestSeconds.toFixed(1)} s; train --world-size 2 ${figures.jobSeconds.toFixed(1)} s`);
  const done = job(trained.id);
  assert.equal(done.state, 'JOB_STATE_SUCCEEDED');
  assert.equal(done.workers.length, 2);
  assert.notEqual(done.workers[0], done.workers[1], 'two worker containers');
  assert.ok(done.result.metrics['recall@1'] >= 0.85, `recall@1 ${done.result.metrics['recall@1']}`);
  assert.equal(Number(done.result.version), 1);
});

test('the web service serves the app; it classifies a post in headless Chromium; manifests revalidate', async () => {
  const base = `http://127.0.0.1:${ports.web}`;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    const failed = [];
    page.on('response', (response) => { if (response.status() >= 400) failed.push(response.url()); });
    await page.goto(`${base}/`);
    await page.waitForFunction(() => window.kilnApp?.sync.state.status === 'up-to-date', null, { timeout: 120000 });
    await page.fill('#text', SPACE_POST);
    await page.waitForFunction(() => document.querySelector('#topics li .name') !== null);
    assert.equal(await page.textContent('#topics li .name'), 'sci.space');
    assert.deepEqual(failed, [], 'every request of the page succeeded');
  } finally {
    await browser.close();
  }
  const manifestUrl = `${base}/v1/models/news/aliases/latest/manifest.json`;
  const first = await fetch(manifestUrl);
  assert.equal(first.status, 200);
  const etag = first.headers.get('etag');
  assert.ok(etag);
  const again = await fetch(manifestUrl, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
});

test('every command of the README CLI table works through `run --rm cli` and from the host', () => {
  const pullDir = join(scratch, 'pulled');
  const posts = join(scratch, 'posts.jsonl');
  // Invocations of each README command, inside the compose network and on the host.
  const invocations = {
    'ingest': [['ingest', '/datasets/20news-bydate.tar.gz'], ['ingest', join(datasetDir, '20news-bydate.tar.gz')]],
    'posts': [['posts', '--categories', 'sci.space', '--limit', '3'], ['posts', '--categories', 'sci.space', '--limit', '3']],
    'stats': [['stats'], ['stats']],
    'train': [['train', '--model', 'smoke', '--epochs', '1', '--topics', 'sci.space,rec.autos'],
      ['train', '--model', 'smoke', '--epochs', '1', '--topics', 'sci.space,rec.autos']],
    'jobs list': [['jobs', 'list'], ['jobs', 'list']],
    'jobs show': [['jobs', 'show', '@first'], ['jobs', 'show', '@first']],
    'jobs watch': [['jobs', 'watch', '@first'], ['jobs', 'watch', '@first']],
    'jobs cancel': [['jobs', 'cancel', '@queued'], ['jobs', 'cancel', '@queued']],
    'models list': [['models', 'list'], ['models', 'list']],
    'models show': [['models', 'show', 'news'], ['models', 'show', 'news']],
    'metrics': [['metrics', 'news:1'], ['metrics', 'news@latest']],
    'sweep': [['sweep', '--grid', 'model=smoke', '--grid', 'epochs=1', '--no-wait'],
      ['sweep', '--grid', 'model=smoke', '--grid', 'epochs=1', '--no-wait']],
    'sweeps list': [['sweeps', 'list'], ['sweeps', 'list']],
    'sweeps show': [['sweeps', 'show', '@sweep'], ['sweeps', 'show', '@sweep']],
    'promote': [['promote', 'news', '1', '--alias', 'production', '--require', 'recall@1>=0.85'],
      ['promote', 'news', '1', '--alias', 'staging']],
    'pull': [['pull', 'news@production', '-o', '/tmp/pulled'], ['pull', 'news@production', '-o', pullDir]],
    'predict': [['predict', 'news@production', SPACE_POST], ['predict', 'news@production', '--file', posts]],
    'health': [['health', 'registry:7005'], ['health', `127.0.0.1:${ports.registry}`]],
  };
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('## CLI reference'), readme.indexOf('## HTTP API'));
  const documented = [...new Set([...table.matchAll(/^\| `kiln ([a-z]+(?: (?:list|show|watch|cancel))?)/gm)]
    .map((m) => m[1]))];
  for (const [, rest] of table.matchAll(/ \/ `kiln ([a-z]+ [a-z]+)/g)) documented.push(rest);
  assert.deepEqual([...new Set(documented)].sort(), Object.keys(invocations).sort(),
    'the test covers exactly the README\'s commands');

  writeFileSync(posts, `${JSON.stringify({ text: SPACE_POST })}\n`);
  const firstJob = kiln('jobs', 'list').jobs.at(-1).id;
  for (const [command, [inside, outside]] of Object.entries(invocations)) {
    for (const [where, argv, runner] of [['inside', inside, cliInside], ['outside', outside, cliOutside]]) {
      let args = argv.map((a) => (a === '@first' ? firstJob : a));
      if (args.includes('@sweep')) {
        const newest = kiln('sweeps', 'list').sweeps[0].id;
        args = args.map((a) => (a === '@sweep' ? newest : a));
      }
      if (args.includes('@queued')) {
        // A job to cancel: queued behind nothing it can start on (world size 64).
        const queued = kiln('train', '--world-size', '64', '--batch-size', '64', '--detach');
        args = args.map((a) => (a === '@queued' ? queued.id : a));
      }
      const result = runner(args);
      assert.equal(result.status, 0, `${where}: kiln ${args.join(' ')} exited ${result.status}:\n` +
        `${result.stdout.slice(-2000)}\n${result.stderr.slice(-2000)}`);
      assert.ok(result.stdout.trim().length > 0, `${where}: kiln ${command} printed nothing`);
    }
  }
  assert.ok(existsSync(join(pullDir, 'manifest.json')), 'pull wrote the bundle on the host');
  const predicted = lastJson(cliOutside(['--json', 'predict', 'news@production', SPACE_POST, '-k', '1']), 'predict');
  assert.equal(predicted.topics[0].topic, 'sci.space');
});

test('docker kill of a worker holding a rank: the job resumes from its checkpoint; a PostgreSQL restart mid-job: it completes', async () => {
  const submitted = kiln('train', '--world-size', '2', '--epochs', '40', '--patience', '0',
    '--detach');
  // Checkpoints are stored in the background: wait for the second's.
  const running = await waitFor('the checkpoint of epoch 2', () => {
    const current = job(submitted.id);
    return Number(current.checkpoint_epoch) >= 2 ? current : null;
  });
  // A worker's name is "<container host name>-<pid>"; the host name is the
  // container id's prefix.
  const victim = running.workers[0];
  const container = victim.split('-')[0];
  const killedAt = Date.now();
  assert.equal(run('docker', ['kill', container]).status, 0, `docker kill ${container}`);
  const watched = jobEvents(submitted.id);
  assert.equal(watched.status, 0, 'the job completes after the kill');
  const resumed = watched.list.find((e) => e.resumed);
  assert.ok(resumed, 'the events show a resume from a checkpoint');
  assert.ok(Number(resumed.resumed.epoch) >= 2, `resumed after epoch ${resumed.resumed.epoch}`);
  figures.killToResumeSeconds = (Date.parse(resumed.time) - killedAt) / 1000;
  figures.killToDoneSeconds = (Date.now() - killedAt) / 1000;
  assert.ok(!job(submitted.id).workers.includes(victim));

  const second = kiln('train', '--epochs', '200', '--patience', '0', '--detach');
  await waitFor('two epochs', () => Number(job(second.id).epochs_done) >= 2);
  const restartedAt = Date.now();
  composeOk('restart', 'postgres');
  figures.postgresRestartSeconds = (Date.now() - restartedAt) / 1000;
  const after = jobEvents(second.id);
  assert.equal(after.status, 0, 'the job completes after the PostgreSQL restart');
  figures.postgresRestartToDoneSeconds = (Date.now() - restartedAt) / 1000;
  figures.attemptsAfterPostgresRestart = Number(job(second.id).attempt);
  console.log(`# worker kill -> resumed ${figures.killToResumeSeconds.toFixed(1)} s, -> done ` +
    `${figures.killToDoneSeconds.toFixed(1)} s; postgres restart ${figures.postgresRestartSeconds.toFixed(1)} s, ` +
    `-> done ${figures.postgresRestartToDoneSeconds.toFixed(1)} s`);
});

test('down then up -d: posts, versions and aliases are all still there', async () => {
  const before = { stats: kiln('stats'), model: kiln('models', 'show', 'news') };
  composeOk('down', '-t', '10');
  assert.equal(containers({ all: true }).length, 0, 'down removes the containers');
  composeOk('up', '-d', '--no-build', '--scale', 'worker=3');
  figures.secondsToHealthyAgain = await waitHealthy(10);
  const afterwards = { stats: kiln('stats'), model: kiln('models', 'show', 'news') };
  assert.deepEqual(afterwards.stats, before.stats);
  const versions = (m) => m.versions.versions.map((v) => [v.version, v.manifest_sha256]);
  assert.deepEqual(versions(afterwards.model), versions(before.model));
  const aliases = (m) => m.model.aliases.map((a) => `${a.name}=${a.version}`).sort();
  assert.deepEqual(aliases(afterwards.model), aliases(before.model));
  assert.ok(aliases(afterwards.model).includes('production=1'));
});

test('down -v leaves no container, network or volume of the project', () => {
  composeOk('down', '-v', '-t', '10');
  const label = `label=com.docker.compose.project=${project}`;
  assert.equal(containers({ all: true }).length, 0);
  assert.equal(run('docker', ['network', 'ls', '-q', '--filter', label]).stdout.trim(), '');
  assert.equal(run('docker', ['volume', 'ls', '-q', '--filter', label]).stdout.trim(), '');
});
