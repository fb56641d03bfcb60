/**
 * Issue 12's serving target: the same pickled scikit-learn Pipeline (breast_cancer: StandardScaler
 * + LogisticRegression, 30 features, trained by bench/mlserver_models.py) served by Bettong's
 * Python runtime (the built-in scikit-learn adapter in a sandboxed worker) and by MLServer 1.7 +
 * mlserver-sklearn, both over OIP REST, batch 1, wrk at concurrency 32, one server at a time,
 * in one run. Target: Bettong >= 1.5x MLServer's throughput with a lower p99.
 *
 *   npm run bench:python-mlserver
 *   BENCH_SECONDS=8 BENCH_CONCURRENCY=32 BENCH_ROUNDS=2 BENCH_BETTONG=0,2,0b BENCH_MLSERVER=0,2,2b
 *
 * Configurations: Bettong `replicas` (0: one step worker used from the server thread; N: N
 * replicas, each with its own worker process), a `b` suffix adds dynamic batching
 * (max_batch_size 32, max_delay_ms 1); MLServer `parallel_workers` (0: inference in the server
 * process), a `b` suffix adds its adaptive batching (max_batch_size 32, max_batch_time 1 ms). Each is measured every round, the order rotated; the best round of each is kept and
 * the best configuration of each server compared. Both answer `predict` and `predict_proba`
 * (MLServer is asked for both outputs), and the answers are checked to agree before measuring.
 * Needs bench/.venv-mlserver (made here when missing, as bench/serve.ts does) and wrk
 * (apt-get install wrk); Bettong runs its steps with .venv-steps (scripts/lib.sh ensure_step_python).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const BETTONG_CONFIGS = (process.env.BENCH_BETTONG ?? '0,2,0b').split(',');
const MLSERVER_CONFIGS = (process.env.BENCH_MLSERVER ?? '0,2,2b').split(',');
const VENV = path.join(BENCH, '.venv-mlserver');
const MLSERVER_PYTHON = path.join(VENV, 'bin', 'python');
const STEP_PYTHON = process.env.BETTONG_PYTHON || path.join(ROOT, '.venv-steps', 'bin', 'python');

const log = (s: string) => process.stderr.write(`${s}\n`);
const loadavg = () => os.loadavg()[0].toFixed(1);
const children = new Set<ChildProcess>();
for (const s of ['SIGINT', 'SIGTERM'] as const) {
  process.once(s, () => { for (const c of children) kill(c); process.exit(130); });
}

/** The child and, for MLServer (its own process group), its inference workers. */
function kill(c: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try { process.kill(-c.pid!, signal); } catch { c.kill(signal); }
}

function run(cmd: string, args: string[], timeoutMs = 600_000): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
});

async function waitFor(what: string, child: ChildProcess, out: () => string, ready: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready().catch(() => false))) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}):\n${out().slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${ms / 1000} s:\n${out().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function spawnLogged(cmd: string, args: string[], cwd = ROOT): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  const keep = (d: Buffer) => { out = (out + d).slice(-100_000); };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return { child, out: () => out };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  kill(child, 'SIGTERM');
  const t = setTimeout(() => kill(child), 20_000);
  await gone;
  clearTimeout(t);
}

async function post(url: string, body: unknown, type = 'application/json'): Promise<unknown> {
  const r = await fetch(url, { method: 'POST', body: type === 'application/json' ? JSON.stringify(body) : new Uint8Array(body as Buffer), headers: { 'content-type': type } });
  const text = await r.text();
  if (!r.ok) throw new Error(`POST ${url}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

interface Load { rps: number; p50: number; p99: number; non2xx: number; load: string }

/** wrk, 1 thread, CONC connections, the same POST body; percentiles from --latency (ms). */
function wrk(url: string, body: string): Load {
  const script = path.join(os.tmpdir(), `bettong-wrk-py-${process.pid}.lua`);
  fs.writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`
    + 'done = function(summary, latency, requests)\n  io.write(string.format("P50 %f\\nP99 %f\\nNON2XX %d\\n", latency:percentile(50), latency:percentile(99), summary.errors.status))\nend\n');
  run('wrk', ['-t', '1', '-c', String(CONC), '-d', '2s', '-s', script, url]); // warm-up
  const out = run('wrk', ['-t', '1', '-c', String(CONC), '-d', `${SECONDS}s`, '--latency', '-s', script, url]);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50: num(/P50 ([\d.]+)/) / 1000, p99: num(/P99 ([\d.]+)/) / 1000, non2xx: num(/NON2XX (\d+)/), load: loadavg() };
}

function ensureTools(): void {
  if (spawnSync('wrk', ['-v']).error) run('apt-get', ['install', '-y', '-q', 'wrk']);
  if (!fs.existsSync(STEP_PYTHON)) throw new Error(`no ${STEP_PYTHON}: run "source scripts/lib.sh; ensure_step_python" (or set BETTONG_PYTHON)`);
  if (!fs.existsSync(path.join(VENV, 'bin', 'mlserver'))) {
    log(`setting up MLServer in bench/.venv-mlserver (once; pip install -r bench/requirements-mlserver.txt)`);
    if (!fs.existsSync(MLSERVER_PYTHON)) run(process.env.BENCH_PYTHON ?? 'python3', ['-m', 'venv', VENV]);
    run(MLSERVER_PYTHON, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', path.join(BENCH, 'requirements-mlserver.txt')], 1_800_000);
  }
}

const MODEL = 'breast-cancer';
const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'testdata/models/breast_cancer_logreg.expected.json'), 'utf8'));
const ROW: number[] = expected.inputs.input.data.slice(0, 30);
const bettongBody = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 30], data: ROW }] });
const mlserverBody = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP64', shape: [1, 30], data: ROW }], outputs: [{ name: 'predict' }, { name: 'predict_proba' }] });

interface Answer { label: number; proba: number[] }
type Out = { outputs: { name: string; data: number[] }[] };
const pick = (o: Out, name: string) => o.outputs.find((x) => x.name === name)!.data;

async function bettong(modelDir: string, config: string): Promise<{ load: Load; answer: Answer }> {
  const replicas = Number.parseInt(config, 10);
  const batching = config.endsWith('b') ? { max_batch_size: 32, max_delay_ms: 1 } : {};
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-py-bench-'));
  const port = await freePort();
  const { child, out } = spawnLogged(process.execPath, [path.join(ROOT, 'bin/bettong.mjs'), 'serve', '--data-dir', dataDir, '--port', String(port), '--python', STEP_PYTHON]);
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor('bettong', child, out, async () => (await fetch(`${base}/v2/health/ready`)).ok);
    await post(`${base}/v1/models/${MODEL}?runtime=python`, fs.readFileSync(path.join(modelDir, MODEL, 'model.joblib')), 'application/octet-stream');
    await post(`${base}/v1/pipelines`, { name: 'cancer', steps: [{ model: MODEL }] });
    await post(`${base}/v1/pipelines/cancer/deploy`, { replicas, ...batching });
    const url = `${base}/v2/models/cancer/infer`;
    const o = await post(url, JSON.parse(bettongBody)) as Out;
    const answer = { label: pick(o, 'label')[0], proba: pick(o, 'probabilities') };
    return { load: wrk(url, bettongBody), answer };
  } finally {
    await stop(child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

async function mlserver(modelDir: string, config: string): Promise<{ load: Load; answer: Answer }> {
  const workers = Number.parseInt(config, 10);
  // MLServer's adaptive batching, the counterpart of Bettong's dynamic batching.
  const settingsFile = path.join(modelDir, MODEL, 'model-settings.json');
  const { max_batch_size: _s, max_batch_time: _t, ...settings } = JSON.parse(fs.readFileSync(settingsFile, 'utf8'));
  fs.writeFileSync(settingsFile, JSON.stringify(config.endsWith('b') ? { ...settings, max_batch_size: 32, max_batch_time: 0.001 } : settings));
  const [http, grpc, metrics] = [await freePort(), await freePort(), await freePort()];
  run(MLSERVER_PYTHON, [path.join(BENCH, 'mlserver_models.py'), modelDir, '--http-port', String(http), '--grpc-port', String(grpc),
    '--metrics-port', String(metrics), '--parallel-workers', String(workers), '--settings-only']);
  const { child, out } = spawnLogged(path.join(VENV, 'bin', 'mlserver'), ['start', modelDir], modelDir);
  const base = `http://127.0.0.1:${http}`;
  try {
    await waitFor('mlserver', child, out, async () => (await fetch(`${base}/v2/models/${MODEL}/ready`)).ok);
    const url = `${base}/v2/models/${MODEL}/infer`;
    const o = await post(url, JSON.parse(mlserverBody)) as Out;
    const answer = { label: pick(o, 'predict')[0], proba: pick(o, 'predict_proba') };
    return { load: wrk(url, mlserverBody), answer };
  } finally {
    await stop(child);
  }
}

ensureTools();
const modelDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-py-mlserver-'));
run(MLSERVER_PYTHON, [path.join(BENCH, 'mlserver_models.py'), modelDir, '--http-port', '1', '--grpc-port', '2', '--metrics-port', '3', '--parallel-workers', '0']);
const versions = run(MLSERVER_PYTHON, ['-c', 'import mlserver, sklearn, sys; print(f"MLServer {mlserver.__version__}, scikit-learn {sklearn.__version__}, Python {sys.version.split()[0]}")']).trim();
log(`the same model.joblib (${MODEL}: StandardScaler + LogisticRegression) in both; ${versions}; Bettong steps: ${STEP_PYTHON}`);
log(`wrk ${CONC} connections, ${SECONDS} s per point, OIP REST batch 1, ${ROUNDS} round(s), order rotated`);

const points = [...BETTONG_CONFIGS.map((c) => ({ server: 'bettong', config: c })), ...MLSERVER_CONFIGS.map((c) => ({ server: 'mlserver', config: c }))];
const best = new Map<string, Load>();
let reference: Answer | undefined;
try {
  for (let round = 0; round < ROUNDS; round++) {
    const order = points.map((_, i) => points[(i + round) % points.length]);
    for (const p of order) {
      const { load, answer } = p.server === 'bettong' ? await bettong(modelDir, p.config) : await mlserver(modelDir, p.config);
      reference ??= answer;
      if (answer.label !== reference.label || answer.proba.some((x, i) => Math.abs(x - reference!.proba[i]) > 1e-6)) {
        throw new Error(`${p.server} ${p.config} answered ${JSON.stringify(answer)}, not ${JSON.stringify(reference)}`);
      }
      const name = `${p.server} ${p.server === 'bettong' ? `replicas ${p.config}` : `parallel_workers ${p.config}`}`;
      log(`  round ${round + 1} ${name.padEnd(30)} ${load.rps.toFixed(0).padStart(6)} req/s  p50 ${load.p50.toFixed(2)} ms  p99 ${load.p99.toFixed(2)} ms  non-2xx ${load.non2xx}  load ${load.load}`);
      if (load.non2xx > 0) throw new Error(`${name}: ${load.non2xx} non-2xx answers`);
      const was = best.get(name);
      if (!was || load.rps > was.rps) best.set(name, load);
    }
  }
} finally {
  fs.rmSync(modelDir, { recursive: true, force: true });
}

const top = (server: string, batching: boolean) => [...best].filter(([n]) => n.startsWith(server) && n.endsWith('b') === batching).sort((a, b) => b[1].rps - a[1].rps)[0];
console.log('\n| server, config | req/s | p50 ms | p99 ms |\n|---|---|---|---|');
for (const [n, l] of best) console.log(`| ${n} | ${l.rps.toFixed(0)} | ${l.p50.toFixed(2)} | ${l.p99.toFixed(2)} |`);
for (const batching of [false, true]) {
  const [bName, b] = top('bettong', batching) ?? [];
  const [mName, m] = top('mlserver', batching) ?? [];
  if (!b || !m) continue;
  const ratio = b.rps / m.rps;
  console.log(`\n${batching ? 'with' : 'without'} batching: ${bName} ${b.rps.toFixed(0)} req/s p99 ${b.p99.toFixed(2)} ms vs ${mName} ${m.rps.toFixed(0)} req/s p99 ${m.p99.toFixed(2)} ms`);
  console.log(`  throughput ${ratio.toFixed(2)}x MLServer's (target >= 1.5x): ${ratio >= 1.5 ? 'PASS' : 'MISS'}; p99 ${b.p99 < m.p99 ? 'lower: PASS' : 'not lower: MISS'}`);
}
