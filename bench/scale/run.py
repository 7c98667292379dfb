#!/usr/bin/env python3
"""The whole path through the real services at N times the 20news corpus.

For each size: kiln_make_corpus writes the corpus (reused when it is there
already: a seed fixes it), deploy/quickstart.sh --detach starts a fresh
stack on private ports with that corpus as its dataset, so the stack
ingests it with `kiln ingest` and trains, evaluates and publishes the
default job with `kiln train` exactly as a user's quickstart does. Then the
stages are timed from the job's stored events (`kiln --json jobs watch`)
and the services' logs, the peak RSS (VmHWM) of every service and the
worker is read before the stack stops, and one table per size is printed,
then the growth from each size to the next.

    bench/scale/run.py [--sizes 1,10,100] [--runs 3] [--build BUILD] [--work DIR]

With --runs N, each size runs on N fresh stacks and the tables show the
medians, with each stage's range.

Results are kept in WORK (results-<N>x.json, the logs and events of each
run), and the growth table covers every size found there, so a 100x run
can be added later to 1x and 10x runs. See bench/scale/README.md.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SERVICES = ['data', 'preprocess', 'training', 'evaluation', 'registry', 'worker-1']
# A stage growing more than this much faster than the data is flagged (the
# issue's target: within 1.3x of linear).
LINEAR_SLACK = 1.3
# Peak memory growing more than this from one size to the next is flagged
# as growing with the corpus instead of staying bounded.
MEMORY_SLACK = 1.5


def parse_time(stamp):
    """Seconds since the epoch of an RFC 3339 stamp (nanoseconds allowed)."""
    match = re.match(r'(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?Z$', stamp)
    if not match:
        raise ValueError(f'not a UTC timestamp: {stamp}')
    whole = datetime.datetime.strptime(match.group(1), '%Y-%m-%dT%H:%M:%S')
    fraction = float('0.' + match.group(2)) if match.group(2) else 0.0
    return whole.replace(tzinfo=datetime.timezone.utc).timestamp() + fraction


def log_lines(path):
    """(time, message) of every line of a service log (services/common/log.cc)."""
    lines = []
    for line in Path(path).read_text(errors='replace').splitlines():
        match = re.match(r'(\S+Z) \S+\s+\S+: (.*)$', line)
        if match:
            lines.append((parse_time(match.group(1)), match.group(2)))
    return lines


def last_match(lines, pattern, after=0.0):
    """The last (time, match) of `pattern` in lines at or after `after`."""
    found = None
    for when, message in lines:
        match = re.search(pattern, message)
        if match and when >= after:
            found = (when, match)
    return found


def peak_kib(pid):
    """VmHWM (peak resident set) of a live process, in KiB, or None."""
    try:
        for line in Path(f'/proc/{pid}/status').read_text().splitlines():
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def free_ports():
    """A base such that base+1..base+6 and base+10 (HTTP) are free on 127.0.0.1."""
    for _ in range(50):
        base = 20000 + 10 * random.randrange(3000)
        ports = [base + i for i in range(1, 11)]
        try:
            sockets = []
            for port in ports:
                s = socket.socket()
                sockets.append(s)
                s.bind(('127.0.0.1', port))
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
        return base, base + 10
    raise RuntimeError('no free block of ports on 127.0.0.1')


class CliPeaks(threading.Thread):
    """Samples the peak RSS of the `kiln` commands the quickstart runs.

    They are its children and end before it returns, so their VmHWM is read
    while they run (every 0.1 s; VmHWM only grows, so the last sample is the
    peak up to at most that interval)."""

    def __init__(self, parent_pid, kiln):
        super().__init__(daemon=True)
        self.parent_pid = parent_pid
        self.kiln = str(kiln)
        self.peaks = {}
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.wait(0.1):
            for entry in os.listdir('/proc'):
                if entry.isdigit():
                    self.sample(int(entry))

    def sample(self, pid):
        try:
            stat = Path(f'/proc/{pid}/stat').read_text()
            # The command name may hold spaces; the ppid follows its ')'.
            ppid = int(stat[stat.rindex(')') + 2:].split()[1])
            if ppid != self.parent_pid:
                return
            argv = Path(f'/proc/{pid}/cmdline').read_bytes().split(b'\0')
        except (OSError, ValueError):
            return
        if len(argv) < 2 or argv[0].decode() != self.kiln:
            return
        peak = peak_kib(pid)
        command = argv[1].decode()
        if peak is not None:
            self.peaks[command] = max(peak, self.peaks.get(command, 0))


def make_corpus(build, work, archive, copies, seed):
    """The corpus of `copies` copies per post and what making it took."""
    corpus = work / f'corpus-{copies}x-seed{seed}.jsonl'
    meta = work / f'corpus-{copies}x-seed{seed}.json'
    generator = build / 'bench/scale/kiln_make_corpus'
    # The same seed and generator write the same corpus: reused only then.
    generator_sha256 = hashlib.sha256(generator.read_bytes()).hexdigest()
    if corpus.exists() and meta.exists():
        made = json.loads(meta.read_text())
        if made.get('generator_sha256') == generator_sha256:
            print(f'# reusing {corpus}')
            return corpus, made
    print(f'# writing {corpus}')
    with tempfile.TemporaryFile(mode='w+') as stderr:
        start = time.time()
        child = subprocess.Popen(
            [str(generator), f'--archive={archive}',
             f'--copies={copies}', f'--seed={seed}', f'--out={corpus}'], stderr=stderr)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.time() - start
        stderr.seek(0)
        message = stderr.read().strip()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f'kiln_make_corpus failed: {message}')
    print(f'# {message}')
    posts = int(re.search(r': (\d+) posts', message).group(1))
    made = {'seconds': seconds, 'peak_kib': usage.ru_maxrss, 'posts': posts,
            'bytes': corpus.stat().st_size, 'generator_sha256': generator_sha256}
    meta.write_text(json.dumps(made))
    return corpus, made


def stack_env(build, state, corpus, workers):
    """The quickstart's settings for a stack in `state` on free ports."""
    base, http = free_ports()
    return dict(os.environ, KILN_STATE_DIR=str(state), KILN_PORT_BASE=str(base),
                KILN_HTTP_PORT=str(http), KILN_SKIP_BUILD='1', KILN_BUILD_DIR=str(build),
                KILN_WORKERS=str(workers), KILN_DATASET=str(corpus),
                KILN_TRAINING_ADDRESS=f'127.0.0.1:{base + 3}')


def run_quickstart(build, env):
    """Starts a stack that ingests the corpus and trains the default job.

    Returns the quickstart's exit status, its output lines with their
    arrival times and the peaks of the CLI commands it ran."""
    child = subprocess.Popen([str(REPO / 'deploy/quickstart.sh'), '--detach'], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peaks = CliPeaks(child.pid, build / 'clients/cli/kiln')
    peaks.start()
    lines = []
    try:
        for line in child.stdout:
            lines.append((time.time(), line.rstrip('\n')))
            print(f'  | {line}', end='', flush=True)
    finally:
        status = child.wait()
        peaks.stopping.set()
        peaks.join()
    return status, lines, peaks.peaks


def service_peaks(state):
    """VmHWM of every process the quickstart started, by its name."""
    peaks = {}
    for name in SERVICES:
        pid = int((state / 'pids' / f'{name}.pid').read_text())
        # The pid file holds the service itself (setsid execs it in place).
        exe = os.readlink(f'/proc/{pid}/exe')
        if '/kiln-' not in exe:
            raise RuntimeError(f'{name}.pid is {pid}, which runs {exe}, not a Kiln service')
        peaks[name] = peak_kib(pid)
    return peaks


def posts_table_bytes(state):
    """PostgreSQL's size of data.posts (table, TOAST, indexes), in bytes."""
    uri = (state / 'pg/uri').read_text().strip()
    out = subprocess.run(['psql', uri, '-Atc', "SELECT pg_total_relation_size('data.posts')"],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def stop_stack(state, env, keep_dir, leave_running):
    """Stops the stack, keeps its logs in keep_dir, removes its state;
    or, with leave_running, only copies the logs."""
    if not leave_running:
        subprocess.run([str(REPO / 'deploy/quickstart.sh'), 'stop'], env=env, check=False,
                       stdout=subprocess.DEVNULL)
    if (state / 'logs').exists():
        shutil.rmtree(keep_dir, ignore_errors=True)
        shutil.copytree(state / 'logs', keep_dir)
    if leave_running:
        print(f'# the stack is still running: KILN_STATE_DIR={state} deploy/quickstart.sh stop; '
              f'then tests/support/pg-cluster.sh stop {state}/pg && rm -rf {state}')
        return
    # The halted cluster's files belong to postgres; pg-cluster.sh removes them.
    subprocess.run([str(REPO / 'tests/support/pg-cluster.sh'), 'stop', str(state / 'pg')],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(state, ignore_errors=True)


def job_events(build, env, job_id):
    out = subprocess.run([str(build / 'clients/cli/kiln'), '--json', 'jobs', 'watch', job_id],
                         env=env, capture_output=True, text=True, check=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith('{')]


def measure(quickstart_lines, events, logs):
    """Each stage's start and end from the quickstart's output, the job's
    events and the services' logs; see README.md for what each covers."""
    output = [(when, line) for when, line in quickstart_lines]
    stages = {}

    up = next(when for when, line in output if 'services are up' in line)
    imported = last_match(logs['data'], r'import: (\d+) imported, (\d+) skipped, (\d+) rejected')
    stages['ingest'] = {'start': up, 'end': imported[0], 'imported': int(imported[1].group(1)),
                        'skipped': int(imported[1].group(2)),
                        'rejected': int(imported[1].group(3))}

    def event_time(event):
        return parse_time(event['time'])

    def state_to(name):
        return [event_time(e) for e in events if e.get('state_changed', {}).get('to') == name]

    queued = state_to('JOB_STATE_QUEUED')[0]
    running = state_to('JOB_STATE_RUNNING')
    succeeded = state_to('JOB_STATE_SUCCEEDED')
    if not succeeded:
        raise RuntimeError('the job did not succeed; see the logs kept for this run')
    # Only the last attempt's events: an earlier one may have failed midway.
    leased = running[-1]
    attempt = [e for e in events if event_time(e) >= leased]
    stages['queue'] = {'start': queued, 'end': leased, 'attempts': len(running)}

    vocabulary_event = next(e for e in attempt if e.get('log', {}).get('message', '').startswith(
        'vocabulary '))
    vocabulary = re.match(r'vocabulary (\S+): (\d+) ids from (\d+) training posts',
                          vocabulary_event['log']['message'])
    held_out = next((int(re.match(r'(\d+)', e['log']['message']).group(1)) for e in attempt
                     if 'validation posts held out' in e.get('log', {}).get('message', '')), 0)
    built = last_match(logs['preprocess'], 'vocabulary ' + re.escape(vocabulary.group(1)) + ':',
                       after=leased)
    encoded = event_time(vocabulary_event)
    stages['vocabulary'] = {'start': leased, 'end': built[0], 'ids': int(vocabulary.group(2)),
                            'posts': int(vocabulary.group(3))}
    stages['encode'] = {'start': built[0], 'end': encoded,
                        'posts': int(vocabulary.group(3)) + held_out, 'validation': held_out}

    epochs = [e['epoch_finished'] for e in attempt if 'epoch_finished' in e]
    trained = max(event_time(e) for e in attempt
                  if 'epoch_finished' in e or 'early_stopped' in e)
    seconds = sum(e['seconds'] for e in epochs)
    samples = sum(e['seconds'] * e['samples_per_second'] for e in epochs)
    best = next((e for e in reversed(epochs) if e.get('best')), epochs[-1])
    stages['training'] = {'start': encoded, 'end': trained, 'epochs': len(epochs),
                          'epoch_seconds': seconds, 'samples': samples,
                          'samples_per_second': samples / seconds if seconds else 0,
                          'seconds_per_epoch': seconds / len(epochs),
                          'validation_recall_at_1': best.get('validation_recall_at_1', 0)}

    evaluated = last_match(logs['evaluation'],
                           r'(eval-\S+): recall@1 (\S+) on (\d+) posts in (\S+) s', after=trained)
    stages['evaluation'] = {'start': trained, 'end': evaluated[0],
                            'posts': int(evaluated[1].group(3)),
                            'recall_at_1': float(evaluated[1].group(2)),
                            'scoring_seconds': float(evaluated[1].group(4))}
    published = last_match(logs['registry'], r'published \S+ version \d+ \((\d+) files, (\d+) bytes\)',
                           after=evaluated[0])
    stages['publish'] = {'start': evaluated[0], 'end': published[0],
                         'bundle_bytes': int(published[1].group(2))}
    stages['job end'] = {'start': published[0], 'end': succeeded[-1]}
    stages['submit to succeeded'] = {'start': queued, 'end': succeeded[-1]}
    for stage in stages.values():
        stage['seconds'] = stage['end'] - stage['start']
    return stages


def run_size(build, work, archive, copies, seed, workers, run, leave_running=False):
    """One run at one size on a fresh stack: its figures."""
    corpus, made = make_corpus(build, work, archive, copies, seed)
    print(f'# {copies}x run {run}: starting a stack that ingests {corpus.name} and trains the '
          'default job')
    state = Path(tempfile.mkdtemp(prefix='kiln-scale-'))
    env = stack_env(build, state, corpus, workers)
    keep = work / f'logs-{copies}x-run{run}'
    try:
        # Inside the try: an interrupted start is stopped too.
        status, lines, cli_peaks = run_quickstart(build, env)
        if status != 0:
            raise RuntimeError(f'quickstart exited {status}')
        env['KILN_TOKEN'] = re.search(r'^writer:(\S+)$', (state / 'tokens').read_text(),
                                      re.M).group(1)
        job_id = next(re.search(r'submitted (\S+)', line).group(1)
                      for _, line in lines if line.startswith('submitted '))
        peaks = service_peaks(state)
        table_bytes = posts_table_bytes(state)
        events = job_events(build, env, job_id)
        logs = {name: log_lines(state / 'logs' / f'{name}.log') for name in SERVICES}
    finally:
        stop_stack(state, env, keep, leave_running)
    (keep / 'events.jsonl').write_text(''.join(json.dumps(e) + '\n' for e in events))
    (keep / 'quickstart.out').write_text(''.join(line + '\n' for _, line in lines))
    result = {
        'copies': copies, 'seed': seed, 'posts': made['posts'], 'corpus_bytes': made['bytes'],
        'corpus': made, 'job': job_id, 'posts_table_bytes': table_bytes,
        'stages': measure(lines, events, logs),
        'peak_kib': dict(peaks, **{f'kiln {c}': k for c, k in cli_peaks.items()
                                   if c in ('ingest', 'train')},
                         kiln_make_corpus=made['peak_kib']),
    }
    return result


def median(values):
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def median_result(runs):
    """The runs' figures with every number replaced by its median."""
    first = runs[0]
    if isinstance(first, dict):
        return {key: median_result([run[key] for run in runs]) for key in first}
    if isinstance(first, (int, float)) and not isinstance(first, bool):
        return median(runs)
    return first


def mb(n):
    return f'{n / 1e6:,.1f} MB'


def size_table(runs):
    r = median_result(runs)
    s = r['stages']
    print(f"\n== {r['copies']}x: {r['posts']:,} posts, {mb(r['corpus_bytes'])} of JSON lines, "
          f"seed {r['seed']}, median of {len(runs)} run(s) ==")

    def spread(name):
        if name not in s or len(runs) < 2:
            return ''
        seconds = [run['stages'][name]['seconds'] for run in runs]
        return f'{min(seconds):.2f}-{max(seconds):.2f}'

    training = s['training']
    rows = [
        ('corpus (kiln_make_corpus)', None, r['corpus']['seconds'],
         f"{r['posts'] / r['corpus']['seconds']:,.0f} posts/s", 'not part of the path'),
        ('ingest', 'ingest', s['ingest']['seconds'],
         f"{s['ingest']['imported'] / s['ingest']['seconds']:,.0f} posts/s, "
         f"{r['corpus_bytes'] / 1e6 / s['ingest']['seconds']:,.1f} MB/s",
         f"{s['ingest']['imported']:,} imported, {s['ingest']['skipped']} skipped, "
         f"{s['ingest']['rejected']} rejected; data.posts {mb(r['posts_table_bytes'])}"),
        ('queued to leased', 'queue', s['queue']['seconds'], '',
         f"{s['queue']['attempts']} attempt(s)"),
        ('vocabulary build', 'vocabulary', s['vocabulary']['seconds'],
         f"{s['vocabulary']['posts'] / s['vocabulary']['seconds']:,.0f} posts/s",
         f"{s['vocabulary']['ids']:,} ids from {s['vocabulary']['posts']:,} training posts"),
        ('encode + stream to worker', 'encode', s['encode']['seconds'],
         f"{s['encode']['posts'] / s['encode']['seconds']:,.0f} posts/s",
         f"{s['encode']['posts']:,} rows (validation {s['encode']['validation']:,})"),
        ('training', 'training', training['seconds'],
         f"{training['samples_per_second']:,.0f} samples/s",
         f"{training['epochs']:g} epochs, {training['seconds_per_epoch']:.2f} s/epoch, "
         f"val recall@1 {training['validation_recall_at_1']:.4f}"),
        ('bundle + evaluation', 'evaluation', s['evaluation']['seconds'],
         f"{s['evaluation']['posts'] / s['evaluation']['seconds']:,.0f} posts/s",
         f"{s['evaluation']['posts']:,} test posts, recall@1 "
         f"{s['evaluation']['recall_at_1']:.4f}, scoring {s['evaluation']['scoring_seconds']:.2f} s"),
        ('publish', 'publish', s['publish']['seconds'], '',
         f"bundle {mb(s['publish']['bundle_bytes'])}"),
        ('job end (link, complete)', 'job end', s['job end']['seconds'], '', ''),
        ('submit to succeeded', 'submit to succeeded', s['submit to succeeded']['seconds'], '',
         ''),
    ]
    print(f"{'stage':<27} {'seconds':>8} {'range':>12}  {'rate':<30} detail")
    for name, key, seconds, rate, detail in rows:
        print(f'{name:<27} {seconds:8.2f} {spread(key):>12}  {rate:<30} {detail}')
    print(f"{'peak RSS (VmHWM)':<27} {'MiB':>8} {'range':>12}")
    for name, kib in r['peak_kib'].items():
        peaks = [run['peak_kib'][name] / 1024 for run in runs]
        extent = f'{min(peaks):.0f}-{max(peaks):.0f}' if len(runs) > 1 else ''
        print(f'{name:<27} {kib / 1024:8.1f} {extent:>12}')


def growth_rows(r):
    """(name, value, is_memory) of everything whose growth is printed."""
    s = r['stages']
    rows = [(name, s[key]['seconds'], False) for name, key in [
        ('ingest s', 'ingest'), ('vocabulary build s', 'vocabulary'),
        ('encode + stream s', 'encode'), ('training s', 'training')]]
    rows.append(('training s/epoch', s['training']['seconds_per_epoch'], False))
    rows += [(name, s[key]['seconds'], False) for name, key in [
        ('bundle + evaluation s', 'evaluation'), ('publish s', 'publish'),
        ('submit to succeeded s', 'submit to succeeded')]]
    rows.append(('vocabulary ids', s['vocabulary']['ids'], None))
    rows.append(('data.posts MB', r['posts_table_bytes'] / 1e6, None))
    rows += [(f'peak {name} MiB', kib / 1024, True) for name, kib in r['peak_kib'].items()]
    return rows


def growth_table(runs_by_size):
    results = {n: median_result(runs) for n, runs in runs_by_size.items()}
    sizes = sorted(results)
    if len(sizes) < 2:
        return
    print(f"\n== growth {' -> '.join(f'{n}x' for n in sizes)} "
          f"(! = over {LINEAR_SLACK}x linear for times, over {MEMORY_SLACK}x for peak memory) ==")
    header = f"{'':<27}" + ''.join(f'{str(n) + "x":>11}' for n in sizes)
    header += ''.join(f'{f"{a}x->{b}x":>13}' for a, b in zip(sizes, sizes[1:]))
    print(header)
    table = {n: growth_rows(results[n]) for n in sizes}
    for i, (name, _, is_memory) in enumerate(table[sizes[0]]):
        values = [dict((row[0], row[1]) for row in table[n]).get(name) for n in sizes]
        line = f'{name:<27}' + ''.join(f'{v:11.2f}' if v is not None else f"{'-':>11}"
                                       for v in values)
        for (a, b), (va, vb) in zip(zip(sizes, sizes[1:]), zip(values, values[1:])):
            if va is None or vb is None or va <= 0:
                line += f"{'-':>13}"
                continue
            ratio = vb / va
            data = results[b]['posts'] / results[a]['posts']
            flag = ''
            if is_memory is False and ratio > LINEAR_SLACK * data:
                flag = '!'
            elif is_memory and ratio > MEMORY_SLACK:
                flag = '!'
            line += f'{f"{ratio:.2f}x{flag}":>13}'
        print(line)
    print('times grow linearly at the data growth (10x per step); memory should stay ~1x')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='1,10,100',
                        help='copies per post, comma-separated (default 1,10,100)')
    parser.add_argument('--build', default=str(REPO / 'build'), help='build directory')
    parser.add_argument('--work', default=None,
                        help='corpora, results and logs (default BUILD/bench/scale/work)')
    parser.add_argument('--archive', default=os.environ.get(
        'KILN_DATASET', str(REPO.parent / 'shared/datasets/20news-bydate.tar.gz')),
                        help='20news-bydate.tar.gz (default $KILN_DATASET, else ../shared/datasets/)')
    parser.add_argument('--seed', type=int, default=0, help='corpus seed (default 0)')
    parser.add_argument('--runs', type=int, default=1,
                        help='runs per size, each on a fresh stack; tables show medians '
                             '(default 1)')
    parser.add_argument('--workers', type=int, default=1, help='workers to start (default 1)')
    parser.add_argument('--leave-running', action='store_true',
                        help='leave the last size\'s stack running, to look into it')
    parser.add_argument('--report', action='store_true',
                        help='print the tables of the results in WORK without running')
    args = parser.parse_args()
    build = Path(args.build).resolve()
    work = Path(args.work).resolve() if args.work else build / 'bench/scale/work'
    work.mkdir(parents=True, exist_ok=True)
    sizes = [int(n) for n in args.sizes.split(',') if n]
    archive = Path(args.archive).resolve()
    if not archive.exists() and not args.report:
        sys.exit(f'no 20news archive at {archive}: pass --archive or set KILN_DATASET')
    binaries = ['bench/scale/kiln_make_corpus', 'clients/cli/kiln'] + [
        f'services/{s}/kiln-{s}' for s in
        ['data', 'preprocess', 'training', 'evaluation', 'registry', 'worker']]
    missing = [b for b in binaries if not (build / b).exists()]
    if missing and not args.report:
        sys.exit(f'missing {", ".join(missing)} in {build}: cmake --build {build}')

    if not args.report:
        for copies in sizes:
            runs = [run_size(build, work, archive, copies, args.seed, args.workers, run,
                             leave_running=args.leave_running and copies == sizes[-1] and
                             run == args.runs)
                    for run in range(1, args.runs + 1)]
            (work / f'results-{copies}x.json').write_text(
                json.dumps({'copies': copies, 'seed': args.seed, 'runs': runs}, indent=1))
    runs_by_size = {}
    for path in sorted(work.glob('results-*x.json')):
        result = json.loads(path.read_text())
        if result['seed'] == args.seed:
            runs_by_size[result['copies']] = result['runs']
    for copies in sorted(runs_by_size):
        size_table(runs_by_size[copies])
    growth_table(runs_by_size)


if __name__ == '__main__':
    main()
