/**
 * The inference log writer. Requests hand over their tensors and return at once; rows are
 * built and written in batches off the request path, every `flushIntervalMs` or sooner when
 * `flushRows` rows wait. A crash loses at most the rows not yet flushed: one interval's worth.
 */
import type { Batch } from '../codecs/tensor.ts';
import { rowCount, rowValues } from '../codecs/records.ts';
import type { ShadowOutcome, StepTrace } from '../inference/runner.ts';
import { type DB, sqliteOf } from '../store/index.ts';
import type { InferenceLogTable } from '../store/schema.ts';
import type { Insertable } from 'kysely';

export interface LogEntry {
  workspaceId: number;
  pipelineId: number;
  pipelineVersion: number;
  time: number;
  requestId?: string;
  inputs: Batch;
  outputs: Batch;
  /** Which model answered each row of each step. */
  trace: StepTrace[];
  /** Challengers' outputs, when the pipeline has shadow steps. */
  shadows?: ShadowOutcome[];
  /** Per row: the validations it broke. */
  anomalies: string[][];
  latencyMs: number;
  metadata: Record<string, unknown>;
}

/** What the writer tells metrics (observability/metrics.ts). */
export interface LogWriterMetrics {
  logFlushed(rows: number, ms: number): void;
  logFlushFailed(): void;
}

export interface LogWriterOptions {
  flushIntervalMs?: number;
  flushRows?: number;
  metrics?: LogWriterMetrics;
}

/** SQLite allows 32766 bound parameters per statement; 14 columns per row. */
const INSERT_CHUNK = 2000;

/** Per row, the JSON list of answering models; rows with the same arms share one string. */
function modelsPerRow(trace: StepTrace[], n: number): (i: number) => string {
  if (trace.every((t) => !t.rowModel)) {
    const one = JSON.stringify(trace.map((t) => t.models[0]));
    return () => one;
  }
  const cache = new Map<string, string>();
  return (i) => {
    const picks = trace.map((t) => (t.rowModel ? t.rowModel[i] : 0));
    const k = picks.join(',');
    let v = cache.get(k);
    if (v === undefined) cache.set(k, (v = JSON.stringify(trace.map((t, s) => t.models[picks[s]]))));
    return v;
  };
}

/** Per row, challenger name -> {output: value} (or {error}). */
function shadowsPerRow(shadows: ShadowOutcome[] | undefined, n: number): (i: number) => string {
  if (!shadows || shadows.length === 0) return () => '{}';
  const cols = shadows.map((s) => ({ s, values: s.outputs?.map((t) => [t.name, rowValues(t, n)] as const) }));
  return (i) => {
    const row: Record<string, unknown> = {};
    for (const { s, values } of cols) {
      row[s.model] = values ? Object.fromEntries(values.map(([name, v]) => [name, v[i]])) : { error: s.error };
    }
    return JSON.stringify(row);
  };
}

function toRows(e: LogEntry): Insertable<InferenceLogTable>[] {
  const n = rowCount(e.inputs);
  const cols = (batch: Batch) => batch.map((t) => [t.name, rowValues(t, n)] as const);
  const ins = cols(e.inputs);
  const outs = cols(e.outputs);
  const models = modelsPerRow(e.trace, n);
  const shadow = shadowsPerRow(e.shadows, n);
  const metadata = JSON.stringify(e.metadata);
  const rows: Insertable<InferenceLogTable>[] = [];
  for (let i = 0; i < n; i++) {
    const input: Record<string, unknown> = {};
    for (const [name, v] of ins) input[name] = v[i];
    const output: Record<string, unknown> = {};
    for (const [name, v] of outs) output[name] = v[i];
    const broken = e.anomalies[i] ?? [];
    rows.push({
      workspace_id: e.workspaceId, pipeline_id: e.pipelineId, pipeline_version: e.pipelineVersion, time: e.time,
      request_id: e.requestId ?? null, inputs: JSON.stringify(input), outputs: JSON.stringify(output),
      models: models(i), latency_ms: e.latencyMs, metadata, shadow: shadow(i),
      anomalies: JSON.stringify(broken), anomaly_count: broken.length,
    });
  }
  return rows;
}

export class InferenceLogWriter {
  private pending: LogEntry[] = [];
  private pendingRows = 0;
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout;
  private readonly flushRows: number;
  /** Rows written since start, for tests and metrics. */
  written = 0;

  /** On SQLite: one prepared statement in one transaction, the cheapest write per row. */
  private readonly insertAll?: (rows: Insertable<InferenceLogTable>[]) => void;

  private readonly metrics?: LogWriterMetrics;

  constructor(private readonly db: DB, opts: LogWriterOptions = {}) {
    this.flushRows = opts.flushRows ?? 5000;
    this.metrics = opts.metrics;
    const sqlite = sqliteOf(db);
    if (sqlite) {
      const cols = ['workspace_id', 'pipeline_id', 'pipeline_version', 'time', 'request_id', 'inputs', 'outputs', 'models', 'latency_ms', 'metadata', 'shadow', 'anomalies', 'anomaly_count'];
      const insert = sqlite.prepare(`INSERT INTO inference_logs (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
      this.insertAll = sqlite.transaction((rows: Insertable<InferenceLogTable>[]) => { for (const r of rows) insert.run(r); });
    }
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  /** Rows accepted but not yet written. */
  get backlogRows(): number {
    return this.pendingRows;
  }

  append(entry: LogEntry): void {
    this.pending.push(entry);
    this.pendingRows += rowCount(entry.inputs);
    if (this.pendingRows >= this.flushRows) setImmediate(() => void this.flush());
  }

  /** Writes everything appended so far; concurrent calls queue behind each other. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writePending());
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.length === 0) return;
    const entries = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    const started = performance.now();
    const rows = entries.flatMap(toRows);
    try {
      if (this.insertAll) this.insertAll(rows);
      else {
        await this.db.transaction().execute(async (tx) => {
          for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
            await tx.insertInto('inference_logs').values(rows.slice(i, i + INSERT_CHUNK)).execute();
          }
        });
      }
      this.written += rows.length;
      this.metrics?.logFlushed(rows.length, performance.now() - started);
    } catch (e) {
      this.metrics?.logFlushFailed();
      // Keep the entries for the next attempt rather than lose accepted inferences.
      this.pending = entries.concat(this.pending);
      this.pendingRows += rows.length;
      console.error(`inference log flush failed, will retry: ${(e as Error).message}`);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }
}
