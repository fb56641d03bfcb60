/**
 * Runs one pipeline version: its steps in order, each step's outputs wired into the next
 * step's inputs. Every model a step may use is loaded once per runner (one runner per replica).
 *
 * `run` is the single entry point for a batch, so a dynamic batcher can sit in front of it
 * and coalesce concurrent requests into one call.
 */
import type { Batch, Tensor } from '../codecs/tensor.ts';
import { allocate, elementCount, putRows, takeRows } from '../codecs/tensor.ts';
import { rowCount, rowValues } from '../codecs/records.ts';
import { BettongError } from '../errors/index.ts';
import type { PipelineStep, PipelineVersion, ResolvedModel } from '../pipelines/index.ts';
import type { Model } from '../runtimes/index.ts';
import { armChooser } from './split.ts';

export interface AnsweringModel {
  step: number;
  name: string;
  version: number;
  sha256: string;
  /** For an A/B step: the arm's index. */
  arm?: number;
}

/** Which model answered each row of one step. */
export interface StepTrace {
  models: AnsweringModel[];
  /** Per row, an index into `models`; absent when models[0] answered every row. */
  rowModel?: Uint16Array;
}

export interface ShadowOutcome {
  step: number;
  model: string;
  version: number;
  outputs?: Batch;
  error?: string;
  /** When the challenger started (epoch ms) and how long it took: for metrics and traces. */
  start?: number;
  ms?: number;
}

/** One model call of a step: when it started (epoch ms, comparable across threads) and how long it took. */
export interface StepTiming {
  step: number;
  model: string;
  version: number;
  rows: number;
  start: number;
  ms: number;
}

/** The batch a request rode in (behind a batcher). */
export interface BatchTiming {
  /** When the request joined the batch (epoch ms) and how long it waited for company. */
  start: number;
  waitMs: number;
  /** Rows of each batch run this request accounts for (a batch is counted by its first request only). */
  sizes: number[];
}

/** Milliseconds since the epoch with sub-millisecond precision, the same in every thread. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export interface RunResult {
  outputs: Batch;
  trace: StepTrace[];
  /** Challengers of shadow steps, settled after the answer; null when there are none. */
  shadows: Promise<ShadowOutcome[]> | null;
  /** Each model call, in order. */
  timings?: StepTiming[];
  batch?: BatchTiming;
}

/** How busy a runner is: requests waiting for a batch, and requests running per replica. */
export interface RunnerLoad {
  queued: number;
  inFlight: number[];
}

export interface RunContext {
  metadata: Record<string, unknown>;
}

/** What a deployment runs requests on: in this thread, in replica workers, or behind a batcher. */
export interface Runner {
  readonly version: PipelineVersion;
  run(inputs: Batch, ctx?: RunContext): Promise<RunResult>;
  /** Releases the models once the requests already running have finished. */
  retire(): Promise<void>;
  load(): RunnerLoad;
}

const answering = (step: number, m: ResolvedModel, arm?: number): AnsweringModel =>
  ({ step, name: m.model, version: m.model_version, sha256: m.sha256, ...(arm === undefined ? {} : { arm }) });

/** Prefixes an error with the step that raised it, keeping its code. */
function inStep(step: number, m: ResolvedModel, e: unknown): BettongError {
  const err = e instanceof BettongError ? e : new BettongError('STEP_FAILED', (e as Error)?.message ?? String(e));
  return new BettongError(err.code, `step ${step} (${m.model}:${m.model_version}): ${err.message}`);
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

export class PipelineRunner implements Runner {
  private inFlight = 0;
  private idle: (() => void) | undefined;

  /** @param models model version id -> its loaded model */
  constructor(readonly version: PipelineVersion, private readonly models: Map<number, Model>, private readonly shadowTimeoutMs = 10_000) {}

  private model(m: ResolvedModel): Model {
    return this.models.get(m.model_version_id)!;
  }

  private async predict(step: number, m: ResolvedModel, batch: Batch, timings: StepTiming[]): Promise<Batch> {
    const start = epochMs();
    try {
      return await this.model(m).predict(batch);
    } catch (e) {
      throw inStep(step, m, e);
    } finally {
      timings.push({ step, model: m.model, version: m.model_version, rows: rowCount(batch), start, ms: epochMs() - start });
    }
  }

  load(): RunnerLoad {
    return { queued: 0, inFlight: [this.inFlight] };
  }

  async run(inputs: Batch, ctx: RunContext = { metadata: {} }): Promise<RunResult> {
    this.inFlight++;
    try {
      let batch = inputs;
      const trace: StepTrace[] = [];
      const shadows: Promise<ShadowOutcome[]>[] = [];
      const timings: StepTiming[] = [];
      for (const [i, step] of this.version.steps.entries()) {
        const n = i + 1;
        if (step.wiring) {
          const byName = new Map(batch.map((t) => [t.name, t]));
          batch = Object.entries(step.wiring).map(([input, output]) => ({ ...byName.get(output)!, name: input }));
        }
        if (step.kind === 'model') {
          batch = await this.predict(n, step, batch, timings);
          trace.push({ models: [answering(n, step)] });
        } else if (step.kind === 'ab') {
          const r = await this.runAb(n, step, batch, ctx, timings);
          batch = r.outputs;
          trace.push(r.trace);
        } else {
          const feed = batch;
          // The champion is queued first, so challengers sharing this thread run after it.
          const champion = this.predict(n, step.champion, feed, timings);
          const start = epochMs();
          shadows.push(Promise.all(step.challengers.map((c) => withTimeout(this.model(c).predict(feed), this.shadowTimeoutMs, 'challenger')
            .then((outputs): ShadowOutcome => ({ step: n, model: c.model, version: c.model_version, outputs, start, ms: epochMs() - start }))
            .catch((e): ShadowOutcome => ({ step: n, model: c.model, version: c.model_version, error: (e as Error).message, start, ms: epochMs() - start })))));
          batch = await champion;
          trace.push({ models: [answering(n, step.champion)] });
        }
      }
      return { outputs: batch, trace, timings, shadows: shadows.length ? Promise.all(shadows).then((s) => s.flat()) : null };
    } finally {
      if (--this.inFlight === 0 && this.idle) this.idle();
    }
  }

  /** Each row goes to one arm; rows of one arm run together, then take back their places. */
  private async runAb(n: number, step: Extract<PipelineStep, { kind: 'ab' }>, batch: Batch, ctx: RunContext, timings: StepTiming[]): Promise<{ outputs: Batch; trace: StepTrace }> {
    const rows = rowCount(batch);
    const keyValues = keyOf(step.key, batch, ctx, rows);
    const choose = armChooser(step);
    const rowArm = new Uint16Array(rows);
    for (let r = 0; r < rows; r++) rowArm[r] = choose(keyValues?.[r]);
    const models = step.arms.map((a, i) => answering(n, a, i));
    const used = [...new Set(rowArm)];
    if (used.length === 1) {
      const outputs = await this.predict(n, step.arms[used[0]], batch, timings);
      return { outputs, trace: { models, rowModel: rowArm } };
    }
    const groups = used.map((arm) => ({ arm, rows: Uint32Array.from({ length: rows }, (_, r) => r).filter((r) => rowArm[r] === arm) }));
    const parts = await Promise.all(groups.map((g) => this.predict(n, step.arms[g.arm], batch.map((t) => takeRows(t, g.rows)), timings)));
    const outputs: Tensor[] = parts[0].map((t) => {
      const shape = [rows, ...t.shape.slice(1)];
      return { name: t.name, datatype: t.datatype, shape, data: allocate(t.datatype, elementCount(shape)) };
    });
    groups.forEach((g, gi) => outputs.forEach((out, k) => putRows(out, parts[gi].find((t) => t.name === out.name) ?? parts[gi][k], g.rows)));
    return { outputs, trace: { models, rowModel: rowArm } };
  }

  /** Releases the models once the requests already running have finished. */
  async retire(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await Promise.all([...this.models.values()].map((m) => m.dispose()));
  }
}

/** The split key's value for each row: a metadata value (the same for all rows) or an input column. */
function keyOf(key: string | undefined, batch: Batch, ctx: RunContext, rows: number): unknown[] | undefined {
  if (!key) return undefined;
  if (key.startsWith('metadata.')) {
    const v = ctx.metadata[key.slice('metadata.'.length)];
    return v === undefined ? undefined : new Array(rows).fill(v);
  }
  const t = batch.find((x) => x.name === key.slice('in.'.length));
  return t ? rowValues(t, rows) : undefined;
}
