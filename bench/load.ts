/**
 * The load generator, run by bench/serve.ts as a child process of its own (never inside a server's
 * process): one point = one target, one concurrency, a warm-up, then a measured, time-bounded run.
 *
 *   node --import tsx bench/load.ts '<json spec>'     prints one JSON line: a LoadResult
 *
 * - rest: autocannon, `conc` keep-alive connections, pipelining 1, the same pre-built body on every
 *   request. Latency per request from autocannon's 'response' event (sub-millisecond; its own
 *   histogram keeps whole milliseconds only).
 * - grpc: @grpc/grpc-js, `conc` calls in flight on one channel (one HTTP/2 connection, as ghz does by
 *   default), each call awaiting its answer before the next, ModelInfer with the tensor in
 *   raw_input_contents (as tritonclient sends it). The request is encoded once and its bytes
 *   reused; answers are not decoded (only their status is checked), which keeps the client's CPU
 *   per call low on a small machine, as autocannon does for REST.
 * Every response that is not 2xx / gRPC OK, every socket error and every timeout is counted, and
 * the first few failures are reported with their status and body.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

export interface LoadSpec {
  kind: 'rest' | 'grpc';
  /** rest: the full infer URL; grpc: host:port */
  target: string;
  conc: number;
  seconds: number;
  warmup: number;
  /** rest: the JSON body */
  body?: string;
  /** grpc: the model name and the one FP32 input */
  model?: string;
  input?: { name: string; shape: number[]; data: number[] };
}

export interface LoadResult {
  ok: number;
  /** non-2xx responses, or non-OK gRPC statuses */
  bad: number;
  errors: number;
  timeouts: number;
  seconds: number;
  rps: number;
  p50: number;
  p99: number;
  /** the first few failures, for the message when a run fails */
  samples: string[];
}

// The server's own proto: the standard's field numbers, so the same client drives Bettong and MLServer.
export const PROTO = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'server', 'grpc', 'oip.proto');
export const PROTO_OPTIONS: protoLoader.Options = { keepCase: true, longs: String, enums: String, defaults: true, arrays: true, oneofs: true };

export function percentiles(lat: ArrayLike<number>): { p50: number; p99: number } {
  if (lat.length === 0) return { p50: NaN, p99: NaN };
  const s = Float64Array.from(lat).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))];
  return { p50: at(0.5), p99: at(0.99) };
}

// autocannon ships no types and the project has no @types for it: describe just what we use.
type AcCounts = { duration: number; non2xx: number; errors: number; timeouts: number };
type AcResult = AcCounts & { warmup?: AcCounts };
type AcInstance = PromiseLike<AcResult> & {
  on(ev: 'response', f: (c: unknown, status: number, bytes: number, ms: number) => void): void;
  on(ev: 'reqError', f: (e: Error) => void): void;
};

async function rest(spec: LoadSpec): Promise<LoadResult> {
  const autocannon = createRequire(import.meta.url)('autocannon') as (o: Record<string, unknown>) => AcInstance;
  const lat: number[] = [];
  const samples: string[] = [];
  const run = autocannon({
    url: spec.target, method: 'POST', headers: { 'content-type': 'application/json' }, body: spec.body,
    connections: spec.conc, pipelining: 1, duration: spec.seconds, timeout: 10,
    warmup: { connections: spec.conc, duration: spec.warmup },
  });
  run.on('response', (_c, status, _bytes, ms) => {
    if (status >= 200 && status < 300) lat.push(ms);
    else if (samples.length < 3) samples.push(`HTTP ${status}`);
  });
  run.on('reqError', (e) => { if (samples.length < 3) samples.push(`socket: ${e.message}`); });
  const r = await run;
  const w = r.warmup ?? { non2xx: 0, errors: 0, timeouts: 0 }; // failures in the warm-up count too
  return {
    ok: lat.length, bad: r.non2xx + w.non2xx, errors: r.errors + w.errors, timeouts: r.timeouts + w.timeouts, seconds: r.duration,
    rps: lat.length / r.duration, ...percentiles(lat), samples,
  };
}

async function grpcLoad(spec: LoadSpec): Promise<LoadResult> {
  const def = protoLoader.loadSync(PROTO, PROTO_OPTIONS);
  const method = def['inference.GRPCInferenceService'] as protoLoader.ServiceDefinition;
  const infer = method.ModelInfer;
  const input = spec.input!;
  const raw = Buffer.from(Float32Array.from(input.data).buffer);
  const request = infer.requestSerialize({
    model_name: spec.model, inputs: [{ name: input.name, datatype: 'FP32', shape: input.shape.map(String) }], raw_input_contents: [raw],
  });
  const client = new grpc.Client(spec.target, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (e) => (e ? reject(e) : resolve())));
  const samples: string[] = [];
  let ok = 0, bad = 0, timeouts = 0;
  const call = () => new Promise<boolean>((resolve) => {
    client.makeUnaryRequest(infer.path, () => request, (b: Buffer) => b, null, { deadline: Date.now() + 10_000 }, (err) => {
      if (!err) return resolve(true);
      if (err.code === grpc.status.DEADLINE_EXCEEDED) timeouts++;
      else bad++;
      if (samples.length < 3) samples.push(`gRPC ${grpc.status[err.code]}: ${err.details}`);
      resolve(false);
    });
  });
  const phase = async (seconds: number, lat: number[] | null) => {
    const end = performance.now() + seconds * 1000;
    const worker = async () => {
      while (performance.now() < end) {
        const t0 = performance.now();
        if ((await call()) && lat) { lat.push(performance.now() - t0); ok++; }
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: spec.conc }, worker));
    return (performance.now() - start) / 1000;
  };
  await phase(spec.warmup, null);
  const lat: number[] = [];
  const seconds = await phase(spec.seconds, lat);
  client.close();
  return { ok, bad, errors: 0, timeouts, seconds, rps: ok / seconds, ...percentiles(lat), samples };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const spec = JSON.parse(process.argv[2]) as LoadSpec;
  const result = spec.kind === 'rest' ? await rest(spec) : await grpcLoad(spec);
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
}
