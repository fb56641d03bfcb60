/**
 * Dynamic batching: concurrent requests to one deployment are coalesced into one pipeline
 * run of at most `maxBatchSize` rows, waiting at most `maxDelayMs` for company, then each
 * caller gets its own rows back, in order.
 *
 * - A request counts its rows; a batch never exceeds the limit: a request that would overflow
 *   the forming batch starts the next one, and a request larger than the limit is run in
 *   chunks of at most the limit.
 * - Only requests whose rows can be stacked (same row shapes) and whose metadata is the same
 *   (A/B keys may read it) share a run.
 * - When a coalesced run fails, each of its requests is retried alone, so an error in one
 *   request's data fails only that request.
 */
import type { Batch } from '../codecs/tensor.ts';
import { concatRows, sliceRows } from '../codecs/tensor.ts';
import { rowCount } from '../codecs/records.ts';
import { type RunContext, type RunResult, type Runner, type RunnerLoad, type ShadowOutcome, type StepTrace, epochMs } from './runner.ts';

export interface BatchingConfig {
  max_batch_size: number;
  max_delay_ms: number;
}

interface Pending {
  inputs: Batch;
  ctx: RunContext;
  rows: number;
  joined: number;
  resolve: (r: RunResult) => void;
  reject: (e: unknown) => void;
}

interface Forming {
  key: string;
  items: Pending[];
  rows: number;
  timer: NodeJS.Timeout;
}

function sliceResult(r: RunResult, start: number, end: number): RunResult {
  const cut = (b: Batch) => b.map((t) => (t.shape.length > 0 && t.shape[0] === rowCount(r.outputs) ? sliceRows(t, start, end) : t));
  const trace: StepTrace[] = r.trace.map((t) => (t.rowModel ? { models: t.models, rowModel: t.rowModel.slice(start, end) } : t));
  const shadows = r.shadows && r.shadows.then((all): ShadowOutcome[] => all.map((s) => (s.outputs ? { ...s, outputs: cut(s.outputs) } : s)));
  return { outputs: cut(r.outputs), trace, shadows };
}

function joinResults(parts: RunResult[]): RunResult {
  if (parts.length === 1) return parts[0];
  const outputs = parts[0].outputs.map((t, k) => concatRows(parts.map((p) => p.outputs[k])));
  const trace = parts[0].trace.map((t, s) => {
    if (parts.every((p) => !p.trace[s].rowModel)) return t;
    const rows = parts.map((p) => p.trace[s].rowModel ?? new Uint16Array(rowCount(p.outputs)));
    const joined = new Uint16Array(rows.reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of rows) { joined.set(r, at); at += r.length; }
    return { models: t.models, rowModel: joined };
  });
  const shadowParts = parts.map((p) => p.shadows);
  const shadows = shadowParts.every((s) => s === null) ? null : Promise.all(shadowParts.map((s) => s ?? Promise.resolve([]))).then((all) => all.flat());
  return { outputs, trace, shadows };
}

export class Batcher implements Runner {
  private forming = new Map<string, Forming>();

  constructor(private readonly inner: Runner, private readonly config: BatchingConfig) {}

  get version() {
    return this.inner.version;
  }

  run(inputs: Batch, ctx: RunContext = { metadata: {} }): Promise<RunResult> {
    const rows = rowCount(inputs);
    const max = this.config.max_batch_size;
    if (rows > max) return this.runChunked(inputs, ctx, rows);
    return new Promise<RunResult>((resolve, reject) => {
      const key = inputs.map((t) => `${t.name}:${t.shape.slice(1).join('x')}`).join('|') + JSON.stringify(ctx.metadata);
      let f = this.forming.get(key);
      if (f && f.rows + rows > max) {
        this.flush(f);
        f = undefined;
      }
      if (!f) {
        const fresh: Forming = { key, items: [], rows: 0, timer: setTimeout(() => this.flush(fresh), this.config.max_delay_ms) };
        f = fresh;
        this.forming.set(key, f);
      }
      f.items.push({ inputs, ctx, rows, joined: epochMs(), resolve, reject });
      f.rows += rows;
      if (f.rows >= max) this.flush(f);
    });
  }

  /** A request bigger than the limit runs as chunks of at most the limit, then is joined. */
  private async runChunked(inputs: Batch, ctx: RunContext, rows: number): Promise<RunResult> {
    const max = this.config.max_batch_size;
    const parts: Promise<RunResult>[] = [];
    const sizes: number[] = [];
    for (let start = 0; start < rows; start += max) {
      const end = Math.min(rows, start + max);
      sizes.push(end - start);
      parts.push(this.inner.run(inputs.map((t) => sliceRows(t, start, end)), ctx));
    }
    return { ...joinResults(await Promise.all(parts)), batch: { start: epochMs(), waitMs: 0, sizes } };
  }

  load(): RunnerLoad {
    let queued = 0;
    for (const f of this.forming.values()) queued += f.items.length;
    return { ...this.inner.load(), queued };
  }

  private flush(f: Forming): void {
    clearTimeout(f.timer);
    if (this.forming.get(f.key) === f) this.forming.delete(f.key);
    const items = f.items;
    const now = epochMs();
    const timed = (it: Pending, sizes: number[]) => (r: RunResult) => it.resolve({ ...r, batch: { start: it.joined, waitMs: now - it.joined, sizes } });
    if (items.length === 1) {
      this.inner.run(items[0].inputs, items[0].ctx).then(timed(items[0], [items[0].rows]), items[0].reject);
      return;
    }
    const merged = items[0].inputs.map((t, k) => concatRows(items.map((it) => it.inputs[k])));
    this.inner.run(merged, items[0].ctx).then((result) => {
      let start = 0;
      items.forEach((it, i) => {
        timed(it, i === 0 ? [f.rows] : [])({ ...sliceResult(result, start, start + it.rows), timings: result.timings });
        start += it.rows;
      });
    }, () => {
      // Isolate the failure: each request alone, so only the faulty one fails.
      for (const it of items) this.inner.run(it.inputs, it.ctx).then(timed(it, [it.rows]), it.reject);
    });
  }

  retire(): Promise<void> {
    for (const f of [...this.forming.values()]) this.flush(f);
    return this.inner.retire();
  }
}
