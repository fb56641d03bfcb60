/**
 * Runs one pipeline version: its steps in order, each step's outputs wired into the next
 * step's inputs. Each step holds `replicas` loaded model instances, used in turn.
 *
 * `run` is the single entry point for a batch, so a dynamic batcher can later sit in front
 * of it and coalesce concurrent requests into one call.
 */
import type { Batch } from '../codecs/tensor.ts';
import type { PipelineStep, PipelineVersion } from '../pipelines/index.ts';
import type { Model } from '../runtimes/index.ts';

export interface AnsweringModel {
  name: string;
  version: number;
  sha256: string;
}

export interface RunResult {
  outputs: Batch;
  models: AnsweringModel[];
}

interface LoadedStep {
  step: PipelineStep;
  replicas: Model[];
  next: number;
}

export class PipelineRunner {
  private inFlight = 0;
  private idle: (() => void) | undefined;
  private readonly steps: LoadedStep[];

  constructor(readonly version: PipelineVersion, loaded: Model[][]) {
    this.steps = version.steps.map((step, i) => ({ step, replicas: loaded[i], next: 0 }));
  }

  async run(inputs: Batch): Promise<RunResult> {
    this.inFlight++;
    try {
      let batch = inputs;
      const models: AnsweringModel[] = [];
      for (const s of this.steps) {
        if (s.step.wiring) {
          const byName = new Map(batch.map((t) => [t.name, t]));
          batch = Object.entries(s.step.wiring).map(([input, output]) => ({ ...byName.get(output)!, name: input }));
        }
        const model = s.replicas[s.next];
        s.next = (s.next + 1) % s.replicas.length;
        batch = await model.predict(batch);
        models.push({ name: s.step.model, version: s.step.model_version, sha256: s.step.sha256 });
      }
      return { outputs: batch, models };
    } finally {
      if (--this.inFlight === 0 && this.idle) this.idle();
    }
  }

  /** Releases the models once the requests already running have finished. */
  async retire(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await Promise.all(this.steps.flatMap((s) => s.replicas.map((m) => m.dispose())));
  }
}
