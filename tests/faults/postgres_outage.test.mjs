// Fault suite: PostgreSQL stopped for 60 s in the middle of a job, on the
// quickstart's stack (every service and two workers on loopback). With a
// lease TTL of 10 s, the outage is six TTLs long: the job must still
// complete on its first attempt (the reaper gives running leases a full TTL
// once it reaches the database again; workers train on, skip the
// checkpoints they cannot store, and retry ending the lease), publish
// exactly one version, and lose no post or version stored before.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { repoRoot, sleep, startStack, waitFor } from '../e2e/stack.mjs';

const OUTAGE_MS = 60 * 1000;
let stack;

before(async () => {
  stack = await startStack({ env: { KILN_LEASE_TTL: '10', KILN_HEARTBEAT_INTERVAL: '1' } });
});

after(() => {
  if (!stack) return;
  stack.stop();
  stack.remove();
});

function pgCluster(command) {
  const result = spawnSync(join(repoRoot, 'tests/support/pg-cluster.sh'), [command, join(stack.stateDir, 'pg')],
    { encoding: 'utf8' });
  assert.equal(result.status, 0, `pg-cluster.sh ${command}: ${result.stderr}`);
}


test('PostgreSQL stopped for 60 s mid-job: the job completes on its first attempt, nothing lost', async () => {
  const before = { stats: stack.json(['stats']), news: stack.json(['models', 'show', 'news']) };
  // Long enough to be still training when the database is back (an epoch
  // takes about 0.15 s).
  const submitted = stack.json(['train', '--model', 'outage', '--epochs', '500', '--patience', '0',
    '--detach']);
  await waitFor('two epochs', () => Number(stack.json(['jobs', 'show', submitted.id]).epochs_done) >= 2);

  pgCluster('halt');
  const stoppedAt = Date.now();
  await sleep(OUTAGE_MS);
  pgCluster('resume');
  const resumedAt = Date.now();

  // The first successful call after the outage, as a client sees it.
  await waitFor('the training service to answer again', () => stack.run(['jobs', 'show', submitted.id]).status === 0);
  const answeringAfter = (Date.now() - resumedAt) / 1000;
  const watched = stack.run(['--json', 'jobs', 'watch', submitted.id]);
  assert.equal(watched.status, 0, `the job did not succeed:\n${watched.stdout.slice(-3000)}\n${watched.stderr}`);
  const done = stack.json(['jobs', 'show', submitted.id]);
  assert.equal(done.state, 'JOB_STATE_SUCCEEDED');
  assert.equal(Number(done.attempt), 1, 'the outage cost no attempt');
  const events = watched.stdout.trim().split('\n').filter(Boolean).map((line) => JSON.parse(line));
  assert.equal(events.filter((e) => e.state_changed?.to === 'JOB_STATE_QUEUED' && e.attempt > 0).length, 0,
    'the job was never re-queued');

  const outage = stack.json(['models', 'show', 'outage']);
  assert.equal(outage.versions.versions.length, 1, 'exactly one version published');
  assert.equal(Number(outage.versions.versions[0].version), Number(done.result.version));
  // What was stored before the outage is all still there.
  assert.deepEqual(stack.json(['stats']), before.stats);
  const versions = (m) => m.versions.versions.map((v) => `${v.version}:${v.manifest_sha256}`).sort();
  assert.deepEqual(versions(stack.json(['models', 'show', 'news'])), versions(before.news));
  console.log(`# fault postgres-outage: stopped ${((resumedAt - stoppedAt) / 1000).toFixed(1)} s; ` +
    `services answering ${answeringAfter.toFixed(1)} s after the restart; job done on attempt 1, ` +
    `${((Date.now() - resumedAt) / 1000).toFixed(1)} s after the restart; 0 posts or versions lost`);
});
