/**
 * What metrics cost an inference (issue 11): the engine's in-process run of the digits MLP at
 * batch 1 (the baseline, metrics included as deployed), against the metrics calls one request
 * makes (the transport's request observation and the engine's run observation), timed alone in
 * the same run. Prints both and their ratio.
 *
 * Usage: node --import tsx bench/metrics.ts   (BENCH_REQUESTS, default 20000)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openPlatform } from '../src/platform.ts';
import { DEFAULT_WORKSPACE_ID } from '../src/store/index.ts';
import type { RunResult } from '../src/inference/runner.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.BENCH_REQUESTS ?? 20_000);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-bench-metrics-'));
const p = await openPlatform({ dataDir: dir });
const ws = DEFAULT_WORKSPACE_ID;
await p.registry.upload(ws, 'digits', fs.readFileSync(path.join(ROOT, 'testdata', 'models', 'digits_mlp.onnx')));
await p.pipelines.create(ws, 'digits', { steps: [{ model: 'digits' }] });
await p.deployments.deploy(ws, 'digits', { replicas: 0 });
const input = [{ name: 'input', datatype: 'FP32' as const, shape: [1, 64], data: new Float32Array(64).fill(1) }];

async function timeInfer(n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await p.inference.infer(ws, 'digits', input);
  return Number(process.hrtime.bigint() - t0) / n;
}

function timeObservations(n: number, run: RunResult): number {
  const d = p.deployments.runningOne(ws, 'digits')!;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    p.metrics.request({ workspaceId: ws, pipeline: 'digits', protocol: 'rest', code: null, seconds: 0.0004 });
    p.metrics.inferred(d, 1, 0.3, run, []);
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

const sample = await p.deployments.runningOne(ws, 'digits')!.runner.run(input);
await timeInfer(2000); // warm-up: JIT, ORT allocators
timeObservations(20_000, sample);
const inferNs = await timeInfer(N);
const observeNs = timeObservations(N * 5, sample);
console.log(`engine infer (digits MLP, batch 1, metrics on): ${(inferNs / 1000).toFixed(1)} µs per request`);
console.log(`metrics calls of one request (request + run observation): ${(observeNs / 1000).toFixed(2)} µs`);
console.log(`ratio: ${(100 * observeNs / inferNs).toFixed(1)}% of the engine's time per request`);
await p.close();
fs.rmSync(dir, { recursive: true, force: true });
