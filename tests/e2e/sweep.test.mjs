// K10 sweeps end to end on quickstart's stack (PostgreSQL, every service,
// two workers): `kiln sweep` runs a two-job grid on both workers at once,
// prints the ranked table, moves an alias to the winner; the sweep is
// stored (`kiln sweeps show|list`), and `kiln metrics compare` sets the two
// versions side by side with their specs' difference.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { isRunning, processesMentioning, startStack } from './stack.mjs';

let stack;
let dir;

before(async () => {
  stack = await startStack({ workers: 2 });
  dir = mkdtempSync(join(tmpdir(), 'kiln-sweep-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (!stack) return;
  const pids = stack.pids();
  assert.equal(stack.stop(), 0, 'quickstart.sh stop failed');
  for (const pid of pids) assert.equal(isRunning(pid), false, `process ${pid} outlived stop`);
  assert.deepEqual(processesMentioning(stack.stateDir), [], 'processes left behind by stop');
  stack.remove();
});

// Best first, as the CLI promises: validation recall@1 of the shipped
// epoch, then test recall@1, then the job id; missing figures last.
function expectedRanking(jobs) {
  const validation = (job) => (Number(job.best_epoch?.validation_examples ?? 0) > 0
    ? job.best_epoch.validation_recall_at_1 ?? 0 : null);
  const testRecall = (job) => job.result?.metrics?.['recall@1'] ?? null;
  const descending = (a, b) => {
    if ((a === null) !== (b === null)) return a === null ? 1 : -1;
    return a === null || a === b ? 0 : b - a;
  };
  return [...jobs].sort((a, b) => descending(validation(a), validation(b))
    || descending(testRecall(a), testRecall(b)) || (a.id < b.id ? -1 : 1)).map((job) => job.id);
}

// The table's rows: a job id and its padding (progress lines go on with
// " (").
function tableRows(text) {
  return text.split('\n').filter((line) => /^job-\d{6} {2}/.test(line))
    .map((line) => line.split(/\s{2,}/));
}

let sweepId;
let jobs;

test('kiln sweep runs the grid on both workers, ranks it and promotes the best', () => {
  const specFile = join(dir, 'base.json');
  writeFileSync(specFile, JSON.stringify({ model: 'swept', description: 'e2e sweep' }));
  const started = Date.now();
  const swept = stack.run(['sweep', '--spec', specFile, '--grid', 'epochs=1,2', '--name', 'e2e',
    '--promote', 'BEST', '--alias', 'candidate']);
  console.log(`kiln sweep: ${((Date.now() - started) / 1000).toFixed(1)} s\n${swept.stdout}`);
  assert.equal(swept.status, 0, swept.stdout + swept.stderr);
  sweepId = /^created (sweep-\d{6}) with 2 jobs$/m.exec(swept.stdout)?.[1];
  assert.ok(sweepId, swept.stdout);
  // Not a terminal: a line per change, then the table once.
  assert.match(swept.stdout, /^job-\d{6} \(epochs=1\): (queued|running), epoch [01]\/1$/m);
  assert.match(swept.stdout, new RegExp('^job-\\d{6} \\(epochs=2\\): succeeded, epoch 2/2, '
    + 'test recall@1 0\\.\\d{4}, published swept:\\d+$', 'm'));
  assert.match(swept.stdout,
    /^JOB {9}epochs {2}STATE {6}EPOCHS {2}BEST {2}VAL LOSS {2}VAL R@1 {2}TEST R@1 {2}VERSION$/m);

  const shown = stack.json(['sweeps', 'show', sweepId]);
  jobs = shown.jobs;
  assert.equal(shown.sweep.id, sweepId);
  assert.equal(shown.sweep.plan.name, 'e2e');
  assert.deepEqual(shown.sweep.trials.map((t) => t.values), [['1'], ['2']]);
  assert.deepEqual(jobs.map((j) => j.state), ['JOB_STATE_SUCCEEDED', 'JOB_STATE_SUCCEEDED']);
  assert.deepEqual(jobs.map((j) => Number(j.spec.epochs)), [1, 2]);
  assert.deepEqual(jobs.map((j) => j.spec.description), ['e2e sweep', 'e2e sweep']);
  const ranking = expectedRanking(jobs);
  assert.deepEqual(shown.ranking, ranking);
  assert.equal(shown.best_job, ranking[0]);

  // The queue ran both at once, one on each worker.
  const [a, b] = jobs.map((j) => ({ start: Date.parse(j.started_at), end: Date.parse(j.finished_at),
    worker: j.workers[0] }));
  assert.ok(a.start < b.end && b.start < a.end,
    `the jobs did not overlap: ${JSON.stringify([a, b])}`);
  assert.notEqual(a.worker, b.worker);

  const rows = tableRows(swept.stdout);
  assert.deepEqual(rows.map((r) => r[0]), ranking, 'the table is ranked');
  const best = jobs.find((j) => j.id === ranking[0]);
  const bestVersion = Number(best.result.version);
  for (const row of rows) {
    const job = jobs.find((j) => j.id === row[0]);
    assert.equal(row[1], String(job.spec.epochs));
    assert.equal(row[2], 'succeeded');
    assert.equal(row[3], `${job.spec.epochs}/${job.spec.epochs}`);
    assert.equal(row[7], job.result.metrics['recall@1'].toFixed(4));
    assert.equal(row[8], `swept:${job.result.version}`);
  }
  assert.match(swept.stdout, new RegExp(`^best: ${best.id} \\(swept:${bestVersion}\\)$`, 'm'));
  assert.match(swept.stdout,
    new RegExp(`^swept@candidate -> version ${bestVersion} \\(${best.id}\\)$`, 'm'));
  const model = stack.json(['models', 'show', 'swept']);
  const candidate = model.model.aliases.find((alias) => alias.name === 'candidate');
  assert.equal(Number(candidate.version), bestVersion, 'the alias points at the winner');

  // The stored sweep prints the same table again.
  const again = stack.run(['sweeps', 'show', sweepId]);
  assert.equal(again.status, 0, again.stderr);
  assert.deepEqual(tableRows(again.stdout), rows);
  const listed = stack.run(['sweeps', 'list']);
  assert.equal(listed.status, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`^${sweepId} +e2e +epochs +2 +2 +2 `, 'm'));
});

test('a promotion the gate refuses is an error that leaves the alias alone', () => {
  const specFile = join(dir, 'gated.json');
  writeFileSync(specFile, JSON.stringify({ model: 'swept', epochs: 1 }));
  const refused = stack.run(['sweep', '--spec', specFile, '--grid', 'seed=5', '--promote', 'best',
    '--alias', 'candidate', '--require', 'recall@1>=1.5']);
  assert.equal(refused.status, 3, refused.stdout + refused.stderr);
  assert.match(refused.stderr,
    /^kiln sweep: swept@candidate was not moved to version \d+ \(job-\d{6}\): .*recall@1/m);
  const best = jobs.find((j) => j.id === expectedRanking(jobs)[0]);
  const model = stack.json(['models', 'show', 'swept']);
  const candidate = model.model.aliases.find((alias) => alias.name === 'candidate');
  assert.equal(Number(candidate.version), Number(best.result.version));
});

test('a bad grid is refused before anything is queued', () => {
  const before = stack.json(['jobs', 'list']).jobs.length;
  const sweeps = stack.json(['sweeps', 'list']).sweeps.length;
  const cases = [
    [['--grid', 'learning_rat=0.1'], /grid field "learning_rat" is not a JobSpec field/],
    [['--grid', 'epochs=1,5000'], /combination 2 of 2 \(epochs=5000\): spec\.epochs is 5000/],
    [['--grid', 'epochs'], /--grid "epochs" is not FIELD=VALUE/],
    [['--grid', 'epochs=1', '--promote', 'BEST', '--alias', 'latest'], /--alias "latest"/],
  ];
  for (const [args, message] of cases) {
    const result = stack.run(['sweep', ...args]);
    assert.equal(result.status, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
  assert.equal(stack.json(['jobs', 'list']).jobs.length, before);
  assert.equal(stack.json(['sweeps', 'list']).sweeps.length, sweeps);
});

test('kiln metrics compare: deltas from both reports and the specs\' difference', () => {
  const [one, two] = jobs.map((j) => `swept:${j.result.version}`);
  const compared = stack.json(['metrics', 'compare', one, two]);
  const versions = stack.json(['models', 'show', 'swept']).versions.versions;
  const version = (ref) => versions.find((v) => `swept:${v.version}` === ref);
  for (const [name, key] of [['recall@1', 'recall@1'], ['recall@3', 'recall@3'],
    ['recall@5', 'recall@5'], ['accuracy', 'accuracy']]) {
    const figure = compared.overall[name];
    assert.equal(figure.a, version(one).metrics[key], name);
    assert.equal(figure.b, version(two).metrics[key], name);
    assert.ok(Math.abs(figure.delta - (figure.b - figure.a)) < 1e-12, name);
  }
  assert.equal(compared.overall.size_bytes.a, Number(version(one).size_bytes));
  const weights = (v) => v.files.filter((f) => f.path.endsWith('.bin'))
    .reduce((sum, f) => sum + Number(f.size), 0);
  assert.equal(compared.overall.weights_bytes.b, weights(version(two)));
  assert.equal(compared.classes.length, 8);
  for (const row of compared.classes) {
    assert.ok(Math.abs(row.f1.delta - (row.f1.b - row.f1.a)) < 1e-12, row.category);
  }
  assert.equal(compared.a.job_id, jobs[0].id);
  assert.equal(compared.lineage.specs_compared, true);
  assert.deepEqual(compared.lineage.spec_differences, [{ field: 'epochs', a: '1', b: '2' }]);

  // Aliases work too, and the text names what differs.
  const text = stack.run(['metrics', 'compare', 'swept@candidate', two]);
  assert.equal(text.status, 0, text.stderr);
  console.log(text.stdout);
  assert.match(text.stdout, /^recall@1 +0\.\d{4} +0\.\d{4} +[+-]0\.\d{4}$/m);
  assert.match(text.stdout, /^sci\.med +\d\.\d{4} +\d\.\d{4} +[+-]\d\.\d{4} /m);
  const best = jobs.find((j) => j.id === expectedRanking(jobs)[0]);
  if (`swept:${best.result.version}` === two) {
    assert.match(text.stdout, /ran identical specs/);
  } else {
    assert.match(text.stdout, /^ {2}epochs +1 +2$/m);
  }
  // Another model's version: every field that differs is named.
  const withNews = stack.json(['metrics', 'compare', 'news:1', one]);
  assert.ok(withNews.lineage.spec_differences.some((d) => d.field === 'model'));

  // The plain form still reads one version.
  const single = stack.run(['metrics', one]);
  assert.equal(single.status, 0, single.stderr);
  const missing = stack.run(['metrics', 'compare', one, 'swept:99']);
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /^kiln metrics compare: swept:99: /m);
});
