/**
 * Inside a replica worker thread: loads the pipeline's models once and runs the batches the
 * server thread sends, so a deployment with N replicas uses N cores for inference.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { PipelineVersion } from '../pipelines/index.ts';
import { BettongError } from '../errors/index.ts';
import { type Artifacts, type LoadOptions, loadRunner } from './load.ts';
import type { RunContext } from './runner.ts';
import type { Batch } from '../codecs/tensor.ts';

const { version, artifacts, options } = workerData as { version: PipelineVersion; artifacts: Artifacts; options: LoadOptions };
const port = parentPort!;
const errorOf = (e: unknown) => (e instanceof BettongError ? { code: e.code, message: e.message } : { code: 'STEP_FAILED', message: (e as Error)?.message ?? String(e) });

try {
  const runner = await loadRunner(version, artifacts, options);
  port.on('message', (m: { type: 'run'; id: number; inputs: Batch; ctx: RunContext } | { type: 'retire' }) => {
    if (m.type === 'retire') {
      void runner.retire().then(() => port.postMessage({ type: 'retired' }));
      return;
    }
    runner.run(m.inputs, m.ctx).then((r) => {
      port.postMessage({ type: 'result', id: m.id, outputs: r.outputs, trace: r.trace, timings: r.timings, shadows: r.shadows !== null });
      if (r.shadows) void r.shadows.then((outcomes) => port.postMessage({ type: 'shadows', id: m.id, outcomes }));
    }, (e) => port.postMessage({ type: 'error', id: m.id, error: errorOf(e) }));
  });
  port.postMessage({ type: 'ready' });
} catch (e) {
  port.postMessage({ type: 'failed', error: errorOf(e) });
}
