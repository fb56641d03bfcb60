/**
 * Serving benchmark (issue 7): two fixture models at batch 1 per request, concurrency 1, 8, 32 and
 * 128, measured in one run against
 *   raw ORT   onnxruntime-node InferenceSession.run in this process (the model's ceiling)
 *   ceiling   a bare fastify child answering a fixed copy of Bettong's answer (the transport's ceiling)
 *   bettong   `bettong serve` in a child process, OIP REST (and OIP gRPC when the server has it), with
 *             the deployment config that measured best in a short probe at that concurrency
 *   mlserver  MLServer + mlserver-sklearn serving the same scikit-learn models, REST and gRPC, with
 *             the parallel_workers that measured best in a short probe at that concurrency
 * and dynamic batching on vs off for Bettong at concurrency 128 on the digits MLP.
 * Load always comes from a separate child process (bench/load.ts: autocannon; ghz for gRPC, or a
 * grpc-js client where ghz cannot be installed), one server at a time. Any non-2xx answer or
 * non-OK gRPC status fails the run. See bench/README.md.
 *
 * Usage: npm run bench   (BENCH_SECONDS per point, default 6; BENCH_PROBE_SECONDS, default 2)
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as ort from 'onnxruntime-node';
import { type LoadResult, type LoadSpec, PROTO, PROTO_OPTIONS, percentiles } from './load.ts';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const num = (name: string, dflt: number) => {
  const v = Number(process.env[name] ?? dflt);
  if (!(v > 0)) throw new Error(`${name} must be a positive number`);
  return v;
};
const SECONDS = num('BENCH_SECONDS', 6);
const PROBE_SECONDS = num('BENCH_PROBE_SECONDS', 2);
const WARMUP = 1; // lets V8 JIT, ORT allocators and keep-alive connections settle before measuring
const PROBE_WARMUP = 0.5;
const CONCURRENCY = (process.env.BENCH_CONCURRENCY ?? '1,8,32,128').split(',').map(Number);
const [BATCH_SIZE, BATCH_DELAY] = (process.env.BENCH_BATCHING ?? '32:1').split(':').map(Number);
const MLSERVER_WORKERS = (process.env.BENCH_MLSERVER_WORKERS ?? '0,1,2').split(',').map(Number);
const GHZ_VERSION = 'v0.93.0';
const VENV = path.resolve(process.env.BENCH_MLSERVER_VENV ?? path.join(BENCH, '.venv-mlserver'));
const GHZ = path.join(BENCH, '.bin', 'ghz');
let started = performance.now();

// ---------------------------------------------------------------------------------------------
// what is measured

interface ModelCase {
  key: string;
  title: string;
  file: string;
  registry: string; // Bettong model name
  pipeline: string; // Bettong pipeline = OIP model name
  mlserver: string; // MLServer model name
  row: number[];
  label: number;
  payload: string;
}

function modelCase(key: string, title: string, file: string, registry: string, pipeline: string, mlserver: string): ModelCase {
  const expected = JSON.parse(fs.readFileSync(path.join(ROOT, 'testdata/models', file.replace(/\.onnx$/, '.expected.json')), 'utf8'));
  const features = expected.inputs.input.shape[1] as number;
  const row = (expected.inputs.input.data as number[]).slice(0, features);
  const label = expected.outputs.label.data[0] as number;
  const payload = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, features], data: row }] });
  return { key, title, file, registry, pipeline, mlserver, row, label, payload };
}

const MODELS = [
  modelCase('digits', 'digits MLP', 'digits_mlp.onnx', 'digits-mlp', 'digits', 'digits'),
  modelCase('breast_cancer', 'breast_cancer logistic regression', 'breast_cancer_logreg.onnx', 'breast-cancer-logreg', 'breast-cancer', 'breast-cancer'),
];

type System = 'raw ORT' | 'ceiling' | 'bettong' | 'mlserver';
type Transport = 'in-process' | 'REST' | 'gRPC';
interface Point { model: string; system: System; transport: Transport; conc: number; config: string; rps: number; p50: number; p99: number; ok: number }
const points: Point[] = [];
const probes: { model: string; system: System; conc: number; config: string; rps: number; p99: number }[] = [];

interface BettongConfig { replicas: number; threads: number; max_batch_size: number; max_delay_ms: number }
const CANDIDATES: BettongConfig[] = [0, 1, 2].flatMap((replicas) => [
  { replicas, threads: 1, max_batch_size: 1, max_delay_ms: 0 },
  { replicas, threads: 1, max_batch_size: BATCH_SIZE, max_delay_ms: BATCH_DELAY },
]);
const batching = (c: BettongConfig) => c.max_batch_size > 1;
const describe = (c: BettongConfig) =>
  `replicas ${c.replicas}, ${batching(c) ? `batch ${c.max_batch_size}/${c.max_delay_ms}ms` : 'no batching'}`;

const log = (s: string) => process.stderr.write(`${s}\n`);
const fmtS = () => `${((performance.now() - started) / 1000).toFixed(0)}s`;

// ---------------------------------------------------------------------------------------------
// child processes: every one is tracked and stopped, on success, failure or Ctrl-C

const children = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Stops a child (and, when it leads a process group of its own, everything in that group). */
async function stop(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const group = (child as ChildProcess & { group?: boolean }).group === true;
  const signal = (s: NodeJS.Signals) => { try { if (group) process.kill(-child.pid!, s); else child.kill(s); } catch { /* gone */ } };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  if (group) { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* the group is empty */ } }
}

async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => stop(c, 5000)));
}

for (const s of ['SIGINT', 'SIGTERM'] as const) {
  process.once(s, () => { log(`\n${s}: stopping servers`); void stopAll().then(() => process.exit(130)); });
}

/** Starts a Node child and resolves once its stdout matches every pattern (first group of each). */
function startNode(args: string[], env: NodeJS.ProcessEnv, patterns: RegExp[], timeoutMs = 60_000): Promise<{ child: ChildProcess; found: string[]; out: () => string }> {
  const child = track(spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => { err += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop(child, 2000);
      reject(new Error(`${args.join(' ')}: not listening after ${timeoutMs} ms:\n${out}${err}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
      const m = patterns.map((p) => p.exec(out));
      if (m.every(Boolean)) { clearTimeout(timer); resolve({ child, found: m.map((x) => x![1]), out: () => out + err }); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`${args.join(' ')} exited (${code}) before listening:\n${out}${err}`)); });
  });
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<{ code: number | null; out: string }> {
  const child = track(spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => { out += d; });
  child.stderr!.on('data', (d: Buffer) => { out += d; });
  const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
  return new Promise((resolve) => {
    child.once('error', (e) => { clearTimeout(timer); resolve({ code: -1, out: out + String(e) }); });
    child.once('close', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
  });
}

const tail = (s: string, n = 15) => s.trim().split('\n').slice(-n).join('\n');

// ---------------------------------------------------------------------------------------------
// load

let grpcClient: 'ghz' | 'grpc-js' = 'grpc-js';
let grpcClientNote = '';

function failIfBad(what: string, r: { bad: number; errors: number; timeouts: number; samples: string[] }): void {
  if (r.bad + r.errors + r.timeouts > 0) {
    throw new Error(`${what}: ${r.bad} non-2xx/non-OK answers, ${r.errors} socket errors, ${r.timeouts} timeouts` +
      (r.samples.length ? ` (first: ${r.samples.join('; ')})` : ''));
  }
}

async function loadChild(spec: LoadSpec): Promise<LoadResult> {
  const r = await run(process.execPath, ['--import', 'tsx', path.join(BENCH, 'load.ts'), JSON.stringify(spec)], { timeoutMs: (spec.seconds + spec.warmup + 60) * 1000 });
  const line = r.out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (r.code !== 0 || !line) throw new Error(`load generator failed (${r.code}):\n${tail(r.out)}`);
  return JSON.parse(line) as LoadResult;
}

function grpcRequestBytes(model: string, row: number[]): Buffer {
  const def = protoLoader.loadSync(PROTO, PROTO_OPTIONS)['inference.GRPCInferenceService'] as protoLoader.ServiceDefinition;
  return def.ModelInfer.requestSerialize({
    model_name: model, inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', String(row.length)] }],
    raw_input_contents: [Buffer.from(Float32Array.from(row).buffer)],
  });
}

async function ghz(target: string, model: string, row: number[], conc: number, seconds: number): Promise<LoadResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-ghz-'));
  try {
    const bin = path.join(dir, 'request.bin');
    fs.writeFileSync(bin, grpcRequestBytes(model, row));
    const args = ['--insecure', '--proto', PROTO, '--call', 'inference.GRPCInferenceService.ModelInfer', '-B', bin,
      '-c', String(conc), '--connections', '1', '--duration-stop', 'wait', '--timeout', '10s', '-O', 'json', target];
    const once = async (s: number) => {
      const r = await run(GHZ, [...args, '-z', `${Math.round(s * 1000)}ms`], { timeoutMs: (s + 60) * 1000 });
      const start = r.out.indexOf('{');
      if (r.code !== 0 || start < 0) throw new Error(`ghz failed (${r.code}):\n${tail(r.out)}`);
      const j = JSON.parse(r.out.slice(start)) as {
        total: number; statusCodeDistribution?: Record<string, number>; errorDistribution?: Record<string, number>;
        latencyDistribution?: { percentage: number; latency: number }[];
      };
      const codes = j.statusCodeDistribution ?? {};
      const ok = codes.OK ?? 0;
      const bad = Object.entries(codes).filter(([k]) => k !== 'OK').reduce((n, [, v]) => n + v, 0);
      const errs = Object.entries(j.errorDistribution ?? {});
      const at = (p: number) => (j.latencyDistribution ?? []).find((d) => d.percentage === p)?.latency ?? NaN;
      return {
        ok, bad: Math.max(bad, errs.reduce((n, [, v]) => n + v, 0)), errors: 0, timeouts: 0, seconds: j.total / 1e9,
        rps: ok / (j.total / 1e9), p50: at(50) / 1e6, p99: at(99) / 1e6, samples: errs.slice(0, 3).map(([k, v]) => `${v} x ${k}`),
      } satisfies LoadResult;
    };
    const warm = await once(WARMUP);
    failIfBad('gRPC warm-up', warm);
    return await once(seconds);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function restLoad(what: string, url: string, body: string, conc: number, seconds: number, warmup: number): Promise<LoadResult> {
  const r = await loadChild({ kind: 'rest', target: url, body, conc, seconds, warmup });
  failIfBad(what, r);
  return r;
}

async function grpcLoad(what: string, target: string, model: string, row: number[], conc: number, seconds: number): Promise<LoadResult> {
  const r = grpcClient === 'ghz'
    ? await ghz(target, model, row, conc, seconds)
    : await loadChild({ kind: 'grpc', target, model, input: { name: 'input', shape: [1, row.length], data: row }, conc, seconds, warmup: WARMUP });
  failIfBad(what, r);
  return r;
}

function record(p: Omit<Point, 'rps' | 'p50' | 'p99' | 'ok'>, r: LoadResult): Point {
  const point = { ...p, rps: r.rps, p50: r.p50, p99: r.p99, ok: r.ok };
  points.push(point);
  log(`  [${fmtS()}] ${p.model} ${p.system} ${p.transport} c=${p.conc} (${p.config}): ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms, ${r.ok} ok`);
  return point;
}

// ---------------------------------------------------------------------------------------------
// answers are checked before any load: a benchmark of wrong answers is worthless

async function httpJson(base: string, method: string, p: string, body?: NonNullable<RequestInit['body']>, type = 'application/json'): Promise<string> {
  const res = await fetch(base + p, { method, body, headers: body === undefined ? {} : { 'content-type': type } });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${base}${p}: ${res.status} ${text.slice(0, 500)}`);
  return text;
}

function checkLabel(who: string, got: unknown, m: ModelCase): void {
  if (Number(got) !== m.label) throw new Error(`${who} answered label ${String(got)} for ${m.key}, expected ${m.label}`);
}

/** One ModelInfer over grpc-js with the benchmark's proto; returns the first element of `output`. */
async function grpcFirst(target: string, m: ModelCase, model: string, output: string): Promise<unknown> {
  const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(PROTO, PROTO_OPTIONS)) as unknown as
    { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  const client = new pkg.inference.GRPCInferenceService(target, grpc.credentials.createInsecure());
  try {
    const req = {
      model_name: model, inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', String(m.row.length)] }],
      raw_input_contents: [Buffer.from(Float32Array.from(m.row).buffer)],
    };
    type Res = { outputs: { name: string; datatype: string; contents?: { int64_contents?: string[] } }[]; raw_output_contents: Buffer[] };
    const res = await new Promise<Res>((resolve, reject) =>
      (client as unknown as { ModelInfer: (r: unknown, o: object, cb: (e: Error | null, r: Res) => void) => void })
        .ModelInfer(req, { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r))));
    const k = res.outputs.findIndex((o) => o.name === output);
    if (k < 0) throw new Error(`gRPC ${target} ${model}: no output '${output}' in ${JSON.stringify(res.outputs.map((o) => o.name))}`);
    const raw = res.raw_output_contents[k];
    if (raw && raw.length >= 8 && res.outputs[k].datatype === 'INT64') return Number(raw.readBigInt64LE(0));
    return res.outputs[k].contents?.int64_contents?.[0];
  } finally {
    client.close();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. raw ONNX Runtime in this process

/** `conc` promise chains each calling run() back to back: the same concurrency shape as N connections. */
async function rawOrt(session: ort.InferenceSession, row: Float32Array, conc: number, seconds: number) {
  const lat: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  const chain = async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      await session.run({ input: new ort.Tensor('float32', row, [1, row.length]) }); // a fresh tensor, as a real caller makes
      lat.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: conc }, chain));
  return { ok: lat.length, rps: lat.length / ((performance.now() - start) / 1000), ...percentiles(lat) };
}

async function measureRawOrt(): Promise<void> {
  log('raw ONNX Runtime, in process');
  for (const m of MODELS) {
    // The options Bettong's ONNX runtime uses for a deployment with threads: 1.
    const session = await ort.InferenceSession.create(fs.readFileSync(path.join(ROOT, 'testdata/models', m.file)), {
      intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all',
    });
    const out = await session.run({ input: new ort.Tensor('float32', Float32Array.from(m.row), [1, m.row.length]) });
    checkLabel('raw ORT', (out.label.data as BigInt64Array)[0], m);
    const input = Float32Array.from(m.row);
    for (const conc of CONCURRENCY) {
      await rawOrt(session, input, conc, WARMUP);
      const r = await rawOrt(session, input, conc, SECONDS);
      record({ model: m.key, system: 'raw ORT', transport: 'in-process', conc, config: '1 session, 1 thread' }, { ...r, bad: 0, errors: 0, timeouts: 0, seconds: SECONDS, samples: [] });
    }
    await session.release();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Bettong, REST and gRPC

const ceilingBodies: Record<string, string> = {};
let bettongGrpc = false;
const chosen = new Map<string, BettongConfig>(); // `${model}@${conc}` -> config
const batchingPoints: Point[] = [];

async function measureBettong(): Promise<void> {
  const help = spawnSync(process.execPath, ['bin/bettong.mjs', 'serve', '--help'], { cwd: ROOT, encoding: 'utf8' });
  bettongGrpc = /--grpc-port/.test(help.stdout ?? '');
  log(`bettong (OIP REST${bettongGrpc ? ' and gRPC' : '; this build has no --grpc-port, so no gRPC'})`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-bench-'));
  const patterns = [/bettong listening on (http:\/\/\S+)/];
  if (bettongGrpc) patterns.push(/OIP gRPC .* on (\S+:\d+)/);
  // Request log lines off (failures still logged), like the peers' defaults; builds without the flag log nothing anyway.
  const quiet = /--log-level/.test(help.stdout ?? '') ? ['--log-level', 'warn'] : [];
  const args = ['bin/bettong.mjs', 'serve', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', ...(bettongGrpc ? ['--grpc-port', '0'] : []), ...quiet];
  let server: Awaited<ReturnType<typeof startNode>> | undefined;
  try {
    server = await startNode(args, {}, patterns);
    const [base, grpcTarget] = server.found;
    const current = new Map<string, string>();
    const deploy = async (m: ModelCase, c: BettongConfig) => {
      if (current.get(m.pipeline) === JSON.stringify(c)) return;
      await httpJson(base, 'POST', `/v1/pipelines/${m.pipeline}/deploy`, JSON.stringify(c));
      current.set(m.pipeline, JSON.stringify(c));
      checkLabel('bettong', JSON.parse(await httpJson(base, 'POST', `/v2/models/${m.pipeline}/infer`, m.payload)).outputs
        .find((o: { name: string }) => o.name === 'label').data[0], m);
    };
    for (const m of MODELS) {
      await httpJson(base, 'POST', `/v1/models/${m.registry}`, fs.readFileSync(path.join(ROOT, 'testdata/models', m.file)), 'application/octet-stream');
      await httpJson(base, 'POST', '/v1/pipelines', JSON.stringify({ name: m.pipeline, steps: [{ model: m.registry }] }));
      await deploy(m, CANDIDATES[0]);
      // Its bytes become the ceiling's fixed answer.
      ceilingBodies[m.pipeline] = await httpJson(base, 'POST', `/v2/models/${m.pipeline}/infer`, m.payload);
      if (bettongGrpc) checkLabel('bettong gRPC', await grpcFirst(grpcTarget, m, m.pipeline, 'label'), m);
    }

    // Probe: every candidate config, briefly, at every concurrency; batching only where there is
    // company to batch with (at concurrency 1 a request alone only waits out max_delay_ms).
    log(`  probing ${CANDIDATES.length} deployment configs (${PROBE_SECONDS}s each)`);
    for (const m of MODELS) {
      for (const conc of CONCURRENCY) {
        let best: { c: BettongConfig; rps: number } | undefined;
        const tried: string[] = [];
        for (const c of CANDIDATES) {
          if (batching(c) && conc === 1) continue;
          await deploy(m, c);
          const r = await restLoad(`bettong probe ${m.key} c=${conc} ${describe(c)}`, `${base}/v2/models/${m.pipeline}/infer`, m.payload, conc, PROBE_SECONDS, PROBE_WARMUP);
          probes.push({ model: m.key, system: 'bettong', conc, config: describe(c), rps: r.rps, p99: r.p99 });
          tried.push(`${describe(c)}: ${r.rps.toFixed(0)}`);
          if (!best || r.rps > best.rps) best = { c, rps: r.rps };
        }
        chosen.set(`${m.key}@${conc}`, best!.c);
        log(`  [${fmtS()}] ${m.key} c=${conc}: ${tried.join(' | ')} -> ${describe(best!.c)}`);
      }
    }

    // The measured points, with the chosen config; gRPC with the same config as REST.
    for (const m of MODELS) {
      for (const conc of CONCURRENCY) {
        const c = chosen.get(`${m.key}@${conc}`)!;
        await deploy(m, c);
        record({ model: m.key, system: 'bettong', transport: 'REST', conc, config: describe(c) },
          await restLoad(`bettong REST ${m.key} c=${conc}`, `${base}/v2/models/${m.pipeline}/infer`, m.payload, conc, SECONDS, WARMUP));
        if (bettongGrpc) {
          record({ model: m.key, system: 'bettong', transport: 'gRPC', conc, config: describe(c) },
            await grpcLoad(`bettong gRPC ${m.key} c=${conc}`, grpcTarget, m.pipeline, m.row, conc, SECONDS));
        }
      }
    }

    // Batching on vs off at concurrency 128 on the digits MLP: the best probed config of each kind.
    const m = MODELS[0];
    const conc = 128;
    if (CONCURRENCY.includes(conc)) {
      log('  batching on vs off, digits, c=128');
      for (const on of [false, true]) {
        const kind = probes.filter((p) => p.model === m.key && p.system === 'bettong' && p.conc === conc)
          .map((p) => ({ p, c: CANDIDATES.find((c) => describe(c) === p.config)! }))
          .filter(({ c }) => batching(c) === on)
          .sort((a, b) => b.p.rps - a.p.rps)[0].c;
        const already = points.find((p) => p.model === m.key && p.system === 'bettong' && p.transport === 'REST' && p.conc === conc && p.config === describe(kind));
        if (already) { batchingPoints.push(already); continue; }
        await deploy(m, kind);
        const r = await restLoad(`bettong REST ${m.key} c=${conc} ${describe(kind)}`, `${base}/v2/models/${m.pipeline}/infer`, m.payload, conc, SECONDS, WARMUP);
        const p = { model: m.key, system: 'bettong' as const, transport: 'REST' as const, conc, config: describe(kind), rps: r.rps, p50: r.p50, p99: r.p99, ok: r.ok };
        log(`  [${fmtS()}] ${m.key} bettong REST c=${conc} (${p.config}): ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(2)} ms, p99 ${r.p99.toFixed(2)} ms`);
        batchingPoints.push(p);
      }
    }
  } finally {
    if (server) await stop(server.child);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 3. the transport's ceiling

async function measureCeiling(): Promise<void> {
  log('ceiling (bare fastify, fixed answer)');
  const server = await startNode(['--import', 'tsx', path.join(BENCH, 'ceiling.ts')], { BENCH_CEILING_BODIES: JSON.stringify(ceilingBodies) }, [/ceiling listening on (http:\/\/\S+)/]);
  try {
    for (const m of MODELS) {
      for (const conc of CONCURRENCY) {
        record({ model: m.key, system: 'ceiling', transport: 'REST', conc, config: 'fastify, fixed answer' },
          await restLoad(`ceiling ${m.key} c=${conc}`, `${server.found[0]}/v2/models/${m.pipeline}/infer`, m.payload, conc, SECONDS, WARMUP));
      }
    }
  } finally {
    await stop(server.child);
  }
}

// ---------------------------------------------------------------------------------------------
// 4. MLServer

let mlserverSkipped = '';
let mlserverVersion = '';

/** bench/.venv-mlserver with bench/requirements-mlserver.txt, made or refreshed when missing or stale. */
async function ensureMlserver(): Promise<string | null> {
  if (process.env.BENCH_MLSERVER === '0') { mlserverSkipped = 'skipped: BENCH_MLSERVER=0'; return null; }
  const reqFile = path.join(BENCH, 'requirements-mlserver.txt');
  const stamp = path.join(VENV, '.bench-requirements');
  const python = path.join(VENV, 'bin', 'python');
  const wanted = fs.readFileSync(reqFile, 'utf8');
  if (fs.existsSync(path.join(VENV, 'bin', 'mlserver')) && fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8') === wanted) return python;
  log(`setting up MLServer in ${path.relative(ROOT, VENV)} (once; not counted in the run's time budget)`);
  // mlserver 1.7 supports Python 3.9 to 3.12.
  const candidates = [process.env.BENCH_PYTHON, 'python3.12', 'python3.11', 'python3.10', 'python3'].filter(Boolean) as string[];
  const found = candidates.find((p) => spawnSync(p, ['-c', 'import sys; assert (3, 9) <= sys.version_info[:2] <= (3, 12)']).status === 0);
  if (!found) { mlserverSkipped = `no Python 3.9-3.12 found (tried ${candidates.join(', ')}); MLServer 1.7 needs one`; return null; }
  if (!fs.existsSync(python)) {
    const v = await run(found, ['-m', 'venv', VENV], { timeoutMs: 120_000 });
    if (v.code !== 0) { mlserverSkipped = `${found} -m venv failed:\n${tail(v.out, 8)}`; return null; }
  }
  const pip = await run(python, ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '-r', reqFile], { timeoutMs: 900_000 });
  if (pip.code !== 0) { mlserverSkipped = `pip install -r bench/requirements-mlserver.txt failed:\n${tail(pip.out, 12)}`; return null; }
  fs.writeFileSync(stamp, wanted);
  return python;
}

async function ensureGhz(): Promise<void> {
  if (process.env.BENCH_GRPC_CLIENT === 'grpc-js') { grpcClientNote = 'grpc-js in a child process (BENCH_GRPC_CLIENT=grpc-js): on a small machine that client, not the server, limits gRPC throughput'; return; }
  if (!fs.existsSync(GHZ)) {
    log(`installing ghz ${GHZ_VERSION} into bench/.bin with go install (once)`);
    const r = await run('go', ['install', `github.com/bojand/ghz/cmd/ghz@${GHZ_VERSION}`], { env: { GOBIN: path.dirname(GHZ) }, timeoutMs: 600_000 });
    if (r.code !== 0 || !fs.existsSync(GHZ)) {
      grpcClientNote = `grpc-js in a child process (ghz could not be installed: ${tail(r.out, 3).replace(/\n/g, ' ')}); ` +
        'on this machine that client, not the server, limits gRPC throughput';
      return;
    }
  }
  grpcClient = 'ghz';
  grpcClientNote = `ghz ${GHZ_VERSION} (go install from the Go module proxy) in a child process, 1 connection`;
}

interface MlserverRun { child: ChildProcess; http: string; grpc: string; logFile: string }

async function startMlserver(python: string, dir: string, workers: number): Promise<MlserverRun> {
  const [httpPort, grpcPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const gen = await run(python, [path.join(BENCH, 'mlserver_models.py'), dir, '--http-port', String(httpPort), '--grpc-port', String(grpcPort),
    '--metrics-port', String(metricsPort), '--parallel-workers', String(workers), ...(fs.existsSync(path.join(dir, 'digits')) ? ['--settings-only'] : [])], { timeoutMs: 300_000 });
  if (gen.code !== 0) throw new Error(`bench/mlserver_models.py failed:\n${tail(gen.out)}`);
  const logFile = path.join(dir, `mlserver-${workers}.log`);
  const fd = fs.openSync(logFile, 'w');
  // Its own process group: MLServer's inference workers are its children, stopped with it.
  const child = track(spawn(path.join(VENV, 'bin', 'mlserver'), ['start', dir], { cwd: dir, detached: true, stdio: ['ignore', fd, fd] }));
  fs.closeSync(fd);
  (child as ChildProcess & { group?: boolean }).group = true;
  const http = `http://127.0.0.1:${httpPort}`;
  const deadline = Date.now() + 180_000;
  for (const m of MODELS) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`mlserver exited (${child.exitCode}) before ready:\n${tail(fs.readFileSync(logFile, 'utf8'))}`);
      if (Date.now() > deadline) { await stop(child); throw new Error(`mlserver not ready after 180 s:\n${tail(fs.readFileSync(logFile, 'utf8'))}`); }
      const ready = await fetch(`${http}/v2/models/${m.mlserver}/ready`).then((r) => r.ok, () => false);
      if (ready) break;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { child, http, grpc: `127.0.0.1:${grpcPort}`, logFile };
}

async function measureMlserver(python: string): Promise<void> {
  mlserverVersion = spawnSync(python, ['-c', 'import mlserver, sklearn, sys; print(f"MLServer {mlserver.__version__}, scikit-learn {sklearn.__version__}, Python {sys.version.split()[0]}")'], { encoding: 'utf8' }).stdout.trim();
  log(`mlserver (${mlserverVersion})`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlserver-bench-'));
  const best = new Map<string, { workers: number; rps: number }>();
  const failures: string[] = [];
  try {
    // Probe each parallel_workers value (one server start each), REST, every model and concurrency.
    for (const workers of MLSERVER_WORKERS) {
      let s: MlserverRun;
      try {
        s = await startMlserver(python, dir, workers);
      } catch (e) {
        failures.push(`parallel_workers ${workers}: ${(e as Error).message}`);
        log(`  parallel_workers ${workers} did not start: ${(e as Error).message}`);
        continue;
      }
      try {
        for (const m of MODELS) {
          checkLabel('mlserver', JSON.parse(await httpJson(s.http, 'POST', `/v2/models/${m.mlserver}/infer`, m.payload)).outputs[0].data[0], m);
          checkLabel('mlserver gRPC', await grpcFirst(s.grpc, m, m.mlserver, 'predict'), m);
          const tried: string[] = [];
          for (const conc of CONCURRENCY) {
            const r = await restLoad(`mlserver probe ${m.key} c=${conc} parallel_workers ${workers}`, `${s.http}/v2/models/${m.mlserver}/infer`, m.payload, conc, PROBE_SECONDS, PROBE_WARMUP);
            probes.push({ model: m.key, system: 'mlserver', conc, config: `parallel_workers ${workers}`, rps: r.rps, p99: r.p99 });
            tried.push(`c=${conc}: ${r.rps.toFixed(0)}`);
            const k = `${m.key}@${conc}`;
            if (!best.has(k) || r.rps > best.get(k)!.rps) best.set(k, { workers, rps: r.rps });
          }
          log(`  [${fmtS()}] probe ${m.key} parallel_workers ${workers}: ${tried.join(' | ')} req/s`);
        }
      } finally {
        await stop(s.child);
      }
    }
    if (best.size === 0) { mlserverSkipped = `MLServer did not start:\n${failures.join('\n')}`; return; }

    // The measured points: one server start per winning parallel_workers value.
    for (const workers of [...new Set([...best.values()].map((b) => b.workers))]) {
      const s = await startMlserver(python, dir, workers);
      try {
        for (const m of MODELS) {
          for (const conc of CONCURRENCY) {
            if (best.get(`${m.key}@${conc}`)!.workers !== workers) continue;
            const config = `parallel_workers ${workers}`;
            record({ model: m.key, system: 'mlserver', transport: 'REST', conc, config },
              await restLoad(`mlserver REST ${m.key} c=${conc}`, `${s.http}/v2/models/${m.mlserver}/infer`, m.payload, conc, SECONDS, WARMUP));
            record({ model: m.key, system: 'mlserver', transport: 'gRPC', conc, config },
              await grpcLoad(`mlserver gRPC ${m.key} c=${conc}`, s.grpc, m.mlserver, m.row, conc, SECONDS));
          }
        }
      } finally {
        await stop(s.child);
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// output

function table(header: string[], rows: string[][], leftCols = 1): string {
  const width = header.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i < leftCols ? v.padEnd(width[i]) : v.padStart(width[i]))).join('  ').trimEnd();
  return [line(header), line(width.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const find = (model: string, system: System, transport: Transport, conc: number) =>
  points.find((p) => p.model === model && p.system === system && p.transport === transport && p.conc === conc);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));

function report(loadStart: number[], loadEnd: number[]): string {
  const out: string[] = [];
  const ortVersion = (createRequire(import.meta.url)('onnxruntime-node/package.json') as { version: string }).version;
  const acVersion = (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
  out.push(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}, ` +
    `onnxruntime-node ${ortVersion}`);
  out.push(`points: ${SECONDS}s each (+${WARMUP}s warm-up); config probes ${PROBE_SECONDS}s each; batch 1 row per request; loopback`);
  out.push(`load: REST autocannon ${acVersion}, gRPC ${grpcClientNote}; always a child process of its own, never in a server's process`);
  if (os.cpus().length < 4) {
    out.push(`NOTE: ${os.cpus().length} cores, shared by the load generator and the server under test: every server figure includes ` +
      'that competition (raw ORT has none), so HTTP/gRPC ratios are pessimistic.');
  }
  out.push(`load average (1 min) at start ${loadStart[0].toFixed(2)}, at end ${loadEnd[0].toFixed(2)}` +
    (Math.max(loadStart[0], loadEnd[0]) > os.cpus().length * 0.5 ? '  WARNING: other work was running on this machine; figures are noisy' : ''));
  out.push(`MLServer: ${mlserverVersion || `NOT MEASURED: ${mlserverSkipped}`}`);
  out.push(`bettong gRPC: ${bettongGrpc ? 'measured (--grpc-port)' : 'not measured: this build of bettong serve has no --grpc-port'}`);

  for (const m of MODELS) {
    out.push('', `${m.title} (testdata/models/${m.file})`);
    const rows: string[][] = [];
    for (const conc of CONCURRENCY) {
      for (const p of points.filter((q) => q.model === m.key && q.conc === conc)) {
        const raw = find(m.key, 'raw ORT', 'in-process', conc);
        const ceil = find(m.key, 'ceiling', 'REST', conc);
        const peer = find(m.key, 'mlserver', p.transport, conc);
        // MLServer runs scikit-learn, not ONNX Runtime: its rows take no ratio to raw ORT.
        const vsOrt = p.system === 'bettong' || p.system === 'ceiling';
        rows.push([
          `${p.system} ${p.transport === 'in-process' ? '' : p.transport}`.trim(), String(conc), p.config, p.rps.toFixed(0), p.p50.toFixed(2), p.p99.toFixed(2),
          vsOrt ? ratio(p.rps, raw?.rps) : '-',
          p.system === 'bettong' && p.transport === 'REST' ? ratio(p.rps, ceil?.rps) : '-',
          p.system === 'bettong' ? ratio(p.rps, peer?.rps) : '-',
        ]);
      }
    }
    out.push(table(['system', 'conc', 'config', 'req/s', 'p50 ms', 'p99 ms', 'x raw ORT', 'x ceiling', 'x MLServer'], rows, 3));
  }

  out.push('', 'config probes (REST req/s, the best of each row was measured above):');
  const probeRows: string[][] = [];
  for (const sys of ['bettong', 'mlserver'] as const) {
    for (const m of MODELS) {
      for (const conc of CONCURRENCY) {
        const ps = probes.filter((p) => p.system === sys && p.model === m.key && p.conc === conc);
        if (ps.length) probeRows.push([sys, m.key, String(conc), ps.map((p) => `${p.config}: ${p.rps.toFixed(0)}`).join(' | ')]);
      }
    }
  }
  out.push(table(['system', 'model', 'conc', 'probed'], probeRows, 4));

  // The targets of issue 7.
  out.push('', 'targets (issue 7):');
  const verdict = (ok: boolean | undefined) => (ok === undefined ? 'NOT MEASURED' : ok ? 'PASS' : 'MISS');
  const t1 = MODELS.map((m) => {
    const b = find(m.key, 'bettong', 'REST', 32);
    const p = find(m.key, 'mlserver', 'REST', 32);
    if (!b || !p) return { ok: undefined, s: `${m.key}: ${!b ? 'no c=32 point' : 'MLServer not measured'}` };
    const ok = b.rps >= 3 * p.rps && b.p99 < p.p99;
    return { ok, s: `${m.key}: ${b.rps.toFixed(0)} vs ${p.rps.toFixed(0)} req/s = ${(b.rps / p.rps).toFixed(2)}x, p99 ${b.p99.toFixed(2)} vs ${p.p99.toFixed(2)} ms` };
  });
  const all = (xs: { ok: boolean | undefined }[]) => (xs.some((x) => x.ok === undefined) ? undefined : xs.every((x) => x.ok));
  out.push(`1. REST at c=32 >= 3x MLServer's throughput with a lower p99: ${verdict(all(t1))}`, ...t1.map((x) => `     ${x.s}  ${verdict(x.ok)}`));
  const t2 = MODELS.map((m) => {
    const rs = CONCURRENCY.map((conc) => ({ conc, b: find(m.key, 'bettong', 'REST', conc), c: find(m.key, 'ceiling', 'REST', conc) }));
    const ok = rs.every((r) => r.b && r.c && r.b.rps >= 0.8 * r.c.rps);
    return { ok, s: `${m.key}: ${rs.map((r) => `c=${r.conc} ${ratio(r.b?.rps, r.c?.rps)}`).join(', ')}` };
  });
  out.push(`2. REST >= 80% of the transport ceiling (bettong / ceiling req/s, at every concurrency): ${verdict(all(t2))}`, ...t2.map((x) => `     ${x.s}  ${verdict(x.ok)}`));
  const [off, on] = batchingPoints;
  const t3 = off && on ? on.rps >= 2 * off.rps : undefined;
  out.push(`3. dynamic batching >= 2x no batching at c=128 on digits: ${verdict(t3)}`);
  if (off && on) {
    out.push(`     on (${on.config}) ${on.rps.toFixed(0)} req/s, p99 ${on.p99.toFixed(2)} ms vs off (${off.config}) ${off.rps.toFixed(0)} req/s, p99 ${off.p99.toFixed(2)} ms = ${(on.rps / off.rps).toFixed(2)}x`);
    const ceil = find(MODELS[0].key, 'ceiling', 'REST', 128);
    if (ceil && ceil.rps < 2 * off.rps) {
      out.push(`     the transport ceiling at c=128 is ${ceil.rps.toFixed(0)} req/s = ${(ceil.rps / off.rps).toFixed(2)}x no batching: ` +
        'no server-side change can reach 2x here, batching or not');
    }
  }
  out.push('', `run time ${fmtS()}`);
  return out.join('\n');
}

async function main(): Promise<void> {
  const loadStart = os.loadavg();
  log(`bench: ${SECONDS}s per point, ${PROBE_SECONDS}s per probe, concurrency ${CONCURRENCY.join(', ')}; load average ${loadStart[0].toFixed(2)}`);
  await ensureGhz();
  // Setup (venv, ghz) happens before the clock that matters: time the measurement from here.
  const python = await ensureMlserver();
  if (!python) log(`MLServer will not be measured: ${mlserverSkipped}`);
  started = performance.now();
  try {
    await measureRawOrt();
    await measureBettong();
    await measureCeiling();
    if (python) await measureMlserver(python);
  } finally {
    await stopAll();
  }
  const text = report(loadStart, os.loadavg());
  console.log(text);
  if (process.env.BENCH_OUT) fs.writeFileSync(process.env.BENCH_OUT, JSON.stringify({ points, probes, batching: batchingPoints, report: text }, null, 2));
}

try {
  await main();
  process.exit(0);
} catch (e) {
  await stopAll();
  console.error(`\nbench FAILED: ${(e as Error).stack ?? e}`);
  process.exit(1);
}
