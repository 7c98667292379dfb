// A whole Kiln stack for end-to-end tests: deploy/quickstart.sh --detach in
// a temporary state directory on free loopback ports, the `kiln` CLI
// against it, and a stop that must leave no process behind.
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const buildDir = process.env.KILN_BINARY_DIR || join(repoRoot, 'build');
const kilnBinary = join(buildDir, 'clients/cli/kiln');

function portIsFree(port) {
  return new Promise((done) => {
    const server = net.createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

// A base such that base+1..base+9 and the HTTP port are all free.
export async function freePorts() {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 10 * Math.floor(Math.random() * 3000);
    const ports = Array.from({ length: 10 }, (_, i) => base + 1 + i);
    const free = await Promise.all(ports.map(portIsFree));
    if (free.every(Boolean)) return { base, http: base + 10 };
  }
  throw new Error('no free block of ports on 127.0.0.1');
}

// `prepare(stateDir)` runs before the quickstart (say, to mount a small
// filesystem where PostgreSQL's data will be).
export async function startStack({ env = {}, workers = 2, prepare } = {}) {
  const stateDir = mkdtempSync(join(tmpdir(), 'kiln-e2e-'));
  if (prepare) prepare(stateDir);
  const { base, http } = await freePorts();
  const stackEnv = {
    ...process.env,
    KILN_STATE_DIR: stateDir,
    KILN_PORT_BASE: String(base),
    KILN_HTTP_PORT: String(http),
    KILN_SKIP_BUILD: '1',
    KILN_BUILD_DIR: buildDir,
    KILN_WORKERS: String(workers),
    ...env,
  };
  const startedAt = Date.now();
  const started = spawnSync(join(repoRoot, 'deploy/quickstart.sh'), ['--detach'], {
    env: stackEnv, encoding: 'utf8', timeout: 15 * 60 * 1000,
  });
  // The quickstart's wall time from nothing to a served model (build skipped).
  console.log(`quickstart --detach: ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);
  if (started.status !== 0) {
    spawnSync(join(repoRoot, 'deploy/quickstart.sh'), ['stop'], { env: stackEnv });
    throw new Error(`quickstart failed (${started.status}):\n${started.stdout}\n${started.stderr}`);
  }
  return new Stack(stateDir, base, http, stackEnv);
}

class Stack {
  constructor(stateDir, base, http, env) {
    this.stateDir = stateDir;
    this.httpBase = `http://127.0.0.1:${http}`;
    this.env = env;
    const tokens = readFileSync(join(stateDir, 'tokens'), 'utf8');
    this.writerToken = /^writer:(\S+)$/m.exec(tokens)[1];
    this.adminToken = /^admin:(\S+)$/m.exec(tokens)[1];
    this.cliEnv = {
      ...process.env,
      KILN_TOKEN: this.writerToken,
      KILN_DATA_ADDRESS: `127.0.0.1:${base + 1}`,
      KILN_PREPROCESS_ADDRESS: `127.0.0.1:${base + 2}`,
      KILN_TRAINING_ADDRESS: `127.0.0.1:${base + 3}`,
      KILN_EVALUATION_ADDRESS: `127.0.0.1:${base + 4}`,
      KILN_REGISTRY_ADDRESS: `127.0.0.1:${base + 5}`,
    };
  }

  // Runs `kiln ARGS`; returns { status, stdout, stderr }.
  run(args, options = {}) {
    const result = spawnSync(kilnBinary, args, {
      env: this.cliEnv, encoding: 'utf8', maxBuffer: 256 << 20, timeout: 20 * 60 * 1000, ...options,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  }

  // Runs `kiln --json ARGS`, requires success, parses the last JSON line.
  json(args) {
    const result = this.run(['--json', ...args]);
    if (result.status !== 0) {
      throw new Error(`kiln ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
    }
    const lines = result.stdout.trim().split('\n');
    return JSON.parse(lines[lines.length - 1]);
  }

  // `quickstart.sh restart NAME`: NAME (data, …, registry, worker-N)
  // started again with the same settings. Resolves once it answers its
  // health check; asynchronous, so that a test's own clients run meanwhile.
  restart(name) {
    return new Promise((done, fail) => {
      execFile(join(repoRoot, 'deploy/quickstart.sh'), ['restart', name],
        { env: this.env, encoding: 'utf8', timeout: 120 * 1000 }, (error, stdout, stderr) => {
          if (error) fail(new Error(`quickstart restart ${name}: ${error.message}\n${stdout}${stderr}`));
          else done();
        });
    });
  }

  pid(name) {
    return Number(readFileSync(join(this.stateDir, 'pids', `${name}.pid`), 'utf8'));
  }

  log(name) {
    return readFileSync(join(this.stateDir, 'logs', `${name}.log`), 'utf8');
  }

  // Every pid the stack started, for checking that stop leaves none.
  pids() {
    return readdirSync(join(this.stateDir, 'pids')).map((f) =>
      Number(readFileSync(join(this.stateDir, 'pids', f), 'utf8')));
  }

  stop() {
    const stopped = spawnSync(join(repoRoot, 'deploy/quickstart.sh'), ['stop'], {
      env: this.env, encoding: 'utf8', timeout: 120 * 1000,
    });
    return stopped.status;
  }

  // KILN_KEEP_STACK_LOGS=1 keeps the services' logs for a look afterwards.
  remove() {
    // The halted cluster's files belong to the postgres user; pg-cluster.sh
    // knows how to remove its own directory.
    spawnSync(join(repoRoot, 'tests/support/pg-cluster.sh'), ['stop', join(this.stateDir, 'pg')]);
    if (process.env.KILN_KEEP_STACK_LOGS === '1') {
      for (const entry of readdirSync(this.stateDir)) {
        if (entry !== 'logs') rmSync(join(this.stateDir, entry), { recursive: true, force: true });
      }
      console.log(`# logs kept in ${join(this.stateDir, 'logs')}`);
      return;
    }
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}

export function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

// Processes whose command line mentions `text` (e.g. the state directory).
export function processesMentioning(text) {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.includes(text) && !line.includes('ps -eo'));
}

export function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

// Polls `predicate` (it may be async) every `intervalMs` until it returns
// something truthy, which it returns; throws naming `what` at the timeout.
export async function waitFor(what, predicate, timeoutMs = 300000, intervalMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}
