/**
 * Custom-step benchmark: what one call to a JavaScript or Python step costs on a 1-row batch,
 * through the runtime as the engine calls it (inputs to Arrow IPC, over the channel to the
 * step's worker process, predict, back), sandboxed (bubblewrap) against unsandboxed (the same
 * worker as a plain child process), measured in the same run. The steps are identities, so
 * the time is the overhead a step adds; for Python, also against calling the same predict on a
 * 1-row DataFrame in Python directly (the overhead the 0.5 ms target is about).
 *
 * Usage: npm run bench:steps   (BENCH_CALLS=2000; BETTONG_PYTHON or .venv-steps/bin/python)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Batch } from '../src/codecs/tensor.ts';
import { getRuntime, type SandboxSettings } from '../src/runtimes/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const PYTHON = process.env.BETTONG_PYTHON || path.join(ROOT, '.venv-steps', 'bin', 'python');

const STEPS = {
  js: `export const signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] };
export function predict({ x }) { return { y: x }; }`,
  python: `signature = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}], "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}]}
def predict(df):
    return {"y": df["x"].to_numpy()}`,
};

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * p)];

async function measure(runtime: 'js' | 'python', sandbox: SandboxSettings): Promise<{ p50: number; p99: number }> {
  const model = await getRuntime(runtime).load(Buffer.from(STEPS[runtime]), { name: `bench-${runtime}`, sandbox: { ...sandbox, python: PYTHON } });
  const inputs: Batch = [{ name: 'x', datatype: 'FP32', shape: [1], data: new Float32Array([1.5]) }];
  try {
    for (let i = 0; i < Math.min(200, CALLS); i++) await model.predict(inputs);
    const times: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      await model.predict(inputs);
      times.push(performance.now() - t);
    }
    return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
  } finally {
    await model.dispose();
  }
}

/** predict(df) called in Python directly, the same number of times: the baseline the overhead is added to. */
function directPython(): { p50: number; p99: number } {
  const script = `${STEPS.python}
import json, time, numpy as np, pandas as pd
df = pd.DataFrame({"x": np.array([1.5], dtype=np.float32)})
times = []
for i in range(${CALLS} + 200):
    t = time.perf_counter()
    predict(df)
    times.append((time.perf_counter() - t) * 1000)
times = sorted(times[200:])
print(json.dumps({"p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99)]}))`;
  const r = spawnSync(PYTHON, ['-c', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { p50: number; p99: number };
}

const ms = (x: number) => `${x.toFixed(3)} ms`;
console.log(`custom-step call on a 1-row batch, ${CALLS} sequential calls each`);
for (const runtime of ['js', 'python'] as const) {
  if (runtime === 'python' && !fs.existsSync(PYTHON)) {
    console.log(`python: skipped (no ${PYTHON}; scripts/test makes .venv-steps)`);
    continue;
  }
  const plain = await measure(runtime, { unsandboxed: true });
  const boxed = await measure(runtime, {});
  console.log(`${runtime.padEnd(6)} unsandboxed p50 ${ms(plain.p50)} p99 ${ms(plain.p99)} | sandboxed p50 ${ms(boxed.p50)} p99 ${ms(boxed.p99)} | sandboxed/unsandboxed p50 ${(boxed.p50 / plain.p50).toFixed(2)}x`);
  if (runtime === 'python') {
    const direct = directPython();
    console.log(`python predict(df) called directly p50 ${ms(direct.p50)} p99 ${ms(direct.p99)} | added by the sandboxed step p50 ${ms(boxed.p50 - direct.p50)} p99 ${ms(boxed.p99 - direct.p99)}`);
  }
}
