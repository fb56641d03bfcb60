/**
 * Serving overhead benchmark: the digits MLP at batch 1 per request, measured three ways in one run.
 *   raw ORT  - onnxruntime-node InferenceSession.run in this process (the floor Bettong adds to)
 *   bettong  - `bettong serve` in a child process, OIP JSON infer over loopback HTTP, driven by autocannon
 *   ceiling  - a bare fastify child answering a fixed pre-serialized response (the HTTP transport alone)
 * Usage: npm run bench   (BENCH_SECONDS=10 per point by default)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'testdata/models/digits_mlp.onnx');
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const WARMUP_SECONDS = 1; // lets V8 JIT, ORT allocators and keep-alive connections settle before measuring
const CONCURRENCY = [1, 32];

// autocannon ships no types and the project has no @types for it: describe just what we use.
type AcResult = { duration: number; non2xx: number; errors: number; timeouts: number };
type AcInstance = PromiseLike<AcResult> & { on(ev: 'response', f: (c: unknown, status: number, bytes: number, ms: number) => void): void };
const autocannon = createRequire(import.meta.url)('autocannon') as (o: Record<string, unknown>) => AcInstance;

type Point = { mode: string; conc: number; rps: number; p50: number; p99: number; non2xx?: number };

// Child mode: the transport ceiling. Same route and payload as Bettong, but no decode, inference or encode.
if (process.argv[2] === 'ceiling') {
  const { default: Fastify } = await import('fastify');
  const app = Fastify();
  const body = process.env.BENCH_CEILING_BODY!;
  // The JSON body is still parsed by fastify's default parser: that is the least any JSON API server does.
  app.post('/v2/models/:name/infer', async (_req, reply) => reply.type('application/json').send(body));
  console.log(`ceiling listening on ${await app.listen({ host: '127.0.0.1', port: 0 })}`);
} else {
  await main();
}

function percentiles(lat: number[]): { p50: number; p99: number } {
  const s = Float64Array.from(lat).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { p50: at(0.5), p99: at(0.99) };
}

/** `conc` promise chains each calling run() back to back: the same concurrency shape as N HTTP connections. */
async function rawOrt(session: ort.InferenceSession, row: Float32Array, conc: number, seconds: number): Promise<Point> {
  const lat: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  const chain = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await session.run({ input: new ort.Tensor('float32', row, [1, 64]) }); // a fresh tensor, as a real caller makes
      lat.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: conc }, chain));
  return { mode: 'raw ORT', conc, rps: lat.length / ((performance.now() - start) / 1000), ...percentiles(lat) };
}

/** Starts a child and resolves with the URL it prints once listening. */
function startChild(args: string[], env: NodeJS.ProcessEnv, children: ChildProcess[]): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${out}`)));
  });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); });
}

/** One autocannon point. Latencies come from the 'response' event: autocannon's own histogram is whole ms. */
async function http(mode: string, url: string, body: string, conc: number): Promise<Point> {
  const opts = { url, method: 'POST', headers: { 'content-type': 'application/json' }, body, connections: conc, pipelining: 1 };
  const lat: number[] = [];
  const run = autocannon({ ...opts, duration: SECONDS, warmup: { connections: conc, duration: WARMUP_SECONDS } });
  run.on('response', (_c, status, _b, ms) => { if (status >= 200 && status < 300) lat.push(ms); });
  const r = await run;
  const bad = r.non2xx + r.errors + r.timeouts;
  console.error(`  ${mode} c=${conc}: ${lat.length} ok, non2xx=${r.non2xx} errors=${r.errors} timeouts=${r.timeouts}`);
  if (bad > 0) throw new Error(`${mode} at concurrency ${conc}: ${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { mode, conc, rps: lat.length / r.duration, ...percentiles(lat), non2xx: r.non2xx };
}

async function api(base: string, method: string, p: string, body: NonNullable<RequestInit['body']>, type: string): Promise<string> {
  const res = await fetch(base + p, { method, body, headers: { 'content-type': type } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text;
}

async function main(): Promise<void> {
  const expected = JSON.parse(fs.readFileSync(MODEL.replace(/\.onnx$/, '.expected.json'), 'utf8'));
  const row: number[] = expected.inputs.input.data.slice(0, 64);
  const payload = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: row }] });
  const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
    `node ${process.version}, onnxruntime-node ${ortVersion}, ${SECONDS}s per point (+${WARMUP_SECONDS}s warmup)`);
  if (os.cpus().length < 4) {
    console.log(`note: only ${os.cpus().length} cores; in HTTP modes autocannon and the server compete for them, so ratios are pessimistic`);
  }
  const points: Point[] = [];

  // 1. Raw ORT, with the session options Bettong's ONNX runtime uses for a 1-replica, 1-thread deployment.
  const session = await ort.InferenceSession.create(fs.readFileSync(MODEL), {
    intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
  });
  const input = Float32Array.from(row);
  for (const conc of CONCURRENCY) {
    await rawOrt(session, input, conc, WARMUP_SECONDS);
    points.push(await rawOrt(session, input, conc, SECONDS));
    console.error(`  raw ORT c=${conc}: done`);
  }
  await session.release();

  // 2 and 3. Servers run one at a time in child processes, so neither shares an event loop or cores with the other.
  const children: ChildProcess[] = [];
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-bench-'));
  try {
    const base = await startChild(['bin/bettong.mjs', 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0'], {}, children);
    await api(base, 'POST', '/v1/models/digits-mlp', fs.readFileSync(MODEL), 'application/octet-stream');
    await api(base, 'POST', '/v1/pipelines', JSON.stringify({ name: 'digits', steps: [{ model: 'digits-mlp' }] }), 'application/json');
    // Explicit config so the comparison with the raw session above (1 session, 1 intra-op thread) stays like for like.
    await api(base, 'POST', '/v1/pipelines/digits/deploy', JSON.stringify({ replicas: 1, threads: 1 }), 'application/json');
    const inferPath = '/v2/models/digits/infer';
    // One checked request first: a benchmark of wrong answers is worthless, and its bytes become the ceiling's reply.
    const sample = await api(base, 'POST', inferPath, payload, 'application/json');
    const label = JSON.parse(sample).outputs.find((o: { name: string }) => o.name === 'label').data[0];
    if (label !== expected.outputs.label.data[0]) throw new Error(`bettong answered label ${label}, expected ${expected.outputs.label.data[0]}`);
    for (const conc of CONCURRENCY) points.push(await http('bettong', base + inferPath, payload, conc));
    await stopChild(children[0]);

    const ceiling = await startChild(['--import', 'tsx', fileURLToPath(import.meta.url), 'ceiling'], { BENCH_CEILING_BODY: sample }, children);
    for (const conc of CONCURRENCY) points.push(await http('ceiling', ceiling + inferPath, payload, conc));
  } finally {
    await Promise.all(children.map(stopChild));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  // The table: ratios compare throughput at the same concurrency.
  const rps = (mode: string, conc: number) => points.find((p) => p.mode === mode && p.conc === conc)!.rps;
  const cols = ['mode', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'non2xx', 'x raw ORT', 'x ceiling'];
  const rows = CONCURRENCY.flatMap((conc) => points.filter((p) => p.conc === conc)).map((p) => [
    p.mode, String(p.conc), p.rps.toFixed(0), p.p50.toFixed(3), p.p99.toFixed(3), p.non2xx === undefined ? '-' : String(p.non2xx),
    p.mode === 'raw ORT' ? '-' : (p.rps / rps('raw ORT', p.conc)).toFixed(3),
    p.mode === 'bettong' ? (p.rps / rps('ceiling', p.conc)).toFixed(3) : '-',
  ]);
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ');
  console.log(['', line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n'));
}
