/** Loading the models of a pipeline version into a runner (in this thread or in a replica worker). */
import { label, type PipelineVersion, stepModels } from '../pipelines/index.ts';
import { getRuntime, type Model, type SandboxSettings } from '../runtimes/index.ts';
import { PipelineRunner } from './runner.ts';

/** model version id -> its runtime and artifact bytes */
export type Artifacts = Map<number, { runtime: string; bytes: Uint8Array; network?: boolean }>;

export interface LoadOptions {
  threads: number;
  stepTimeoutMs: number;
  shadowTimeoutMs: number;
  /** Where and under which limits custom-code steps run. */
  sandbox: SandboxSettings;
}

export async function loadRunner(version: PipelineVersion, artifacts: Artifacts, opts: LoadOptions): Promise<PipelineRunner> {
  const models = new Map<number, Model>();
  try {
    for (const ref of version.steps.flatMap(stepModels)) {
      if (models.has(ref.model_version_id)) continue;
      const { runtime, bytes, network } = artifacts.get(ref.model_version_id)!;
      models.set(ref.model_version_id, await getRuntime(runtime).load(bytes, {
        intraOpThreads: opts.threads, timeoutMs: opts.stepTimeoutMs, name: label(ref), sandbox: { ...opts.sandbox, network },
      }));
    }
  } catch (e) {
    await Promise.all([...models.values()].map((m) => m.dispose()));
    throw e;
  }
  return new PipelineRunner(version, models, opts.shadowTimeoutMs);
}
