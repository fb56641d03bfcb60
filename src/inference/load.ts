/** Loading the models of a pipeline version into a runner (in this thread or in a replica worker). */
import { type PipelineVersion, stepModels } from '../pipelines/index.ts';
import { getRuntime, type Model } from '../runtimes/index.ts';
import { ModelPool, PipelineRunner } from './runner.ts';

/** model version id -> its runtime and artifact bytes */
export type Artifacts = Map<number, { runtime: string; bytes: Uint8Array }>;

export interface LoadOptions {
  /** Instances of each model, used in turn (one per replica worker when in workers). */
  instances: number;
  threads: number;
  stepTimeoutMs: number;
  shadowTimeoutMs: number;
}

export async function loadRunner(version: PipelineVersion, artifacts: Artifacts, opts: LoadOptions): Promise<PipelineRunner> {
  const pools = new Map<number, ModelPool>();
  try {
    for (const ref of version.steps.flatMap(stepModels)) {
      if (pools.has(ref.model_version_id)) continue;
      const { runtime, bytes } = artifacts.get(ref.model_version_id)!;
      const instances: Model[] = [];
      pools.set(ref.model_version_id, new ModelPool(ref, instances));
      for (let i = 0; i < opts.instances; i++) {
        instances.push(await getRuntime(runtime).load(bytes, { intraOpThreads: opts.threads, timeoutMs: opts.stepTimeoutMs }));
      }
    }
  } catch (e) {
    await Promise.all([...pools.values()].flatMap((p) => p.replicas.map((m) => m.dispose())));
    throw e;
  }
  return new PipelineRunner(version, pools, opts.shadowTimeoutMs);
}
