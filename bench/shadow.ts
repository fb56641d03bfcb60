/**
 * What a shadow step costs the champion's answer: the same champion deployed alone and with
 * challengers (a fast ONNX one, a 3 s JavaScript one, a failing one), requests alternating
 * between the two, latency measured by the client over loopback. Prints p50/p99 and the difference.
 *
 *   npm run bench:shadow            (BENCH_REQUESTS=1000 by default)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer } from '../src/server/index.ts';
import { BettongClient } from '../src/sdk/index.ts';

const root = path.resolve(import.meta.dirname, '..');
const read = (p: string) => fs.readFileSync(path.join(root, p));
const n = Number(process.env.BENCH_REQUESTS ?? 1000);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-bench-shadow-'));
const server = await startServer({ dataDir, port: 0 });
const client = new BettongClient({ url: server.url });
try {
  await client.uploadModel('champion', read('testdata/models/breast_cancer_logreg.onnx'));
  await client.uploadModel('fast', read('testdata/models/breast_cancer_logreg_scaled.onnx'));
  await client.uploadModel('slow', read('testdata/steps/slow.ts'), { runtime: 'js' });
  await client.uploadModel('throws', read('testdata/steps/throws.ts'), { runtime: 'js' });
  await client.createPipeline('alone', [{ model: 'champion' }]);
  await client.createPipeline('shadowed', [{ shadow: { champion: { model: 'champion' }, challengers: [{ model: 'fast' }, { model: 'slow' }, { model: 'throws' }] } }]);
  for (const p of ['alone', 'shadowed']) await client.deploy(p, { replicas: 0 });

  const expected = JSON.parse(read('testdata/models/breast_cancer_logreg.expected.json').toString());
  const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 30], data: expected.inputs.input.data.slice(0, 30) }] });
  const once = async (p: string) => {
    const t = performance.now();
    const res = await fetch(`${server.url}/v2/models/${p}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status}`);
    return performance.now() - t;
  };
  for (let i = 0; i < 50; i++) { await once('alone'); await once('shadowed'); } // warm-up
  const lat: Record<string, number[]> = { alone: [], shadowed: [] };
  for (let i = 0; i < n; i++) {
    lat.alone.push(await once('alone'));
    lat.shadowed.push(await once('shadowed'));
  }
  const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  console.log(`machine: ${os.cpus().length} x ${os.cpus()[0].model}, node ${process.version}; ${n} sequential requests each, alternating`);
  console.log('pipeline   p50 ms  p99 ms');
  for (const p of ['alone', 'shadowed']) console.log(`${p.padEnd(9)} ${pct(lat[p], 0.5).toFixed(3).padStart(7)} ${pct(lat[p], 0.99).toFixed(3).padStart(7)}`);
  const d50 = pct(lat.shadowed, 0.5) - pct(lat.alone, 0.5);
  console.log(`shadow cost: p50 +${d50.toFixed(3)} ms (${((pct(lat.shadowed, 0.5) / pct(lat.alone, 0.5) - 1) * 100).toFixed(0)}%), ` +
    `p99 ${(pct(lat.shadowed, 0.99) - pct(lat.alone, 0.99)).toFixed(3)} ms; the 3 s challenger never delays an answer`);
} finally {
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
