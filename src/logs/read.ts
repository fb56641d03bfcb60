/**
 * Reading logged segments back: segment headers in log order, and a segment's rows as the log
 * API's flat records (or the structured row compare needs). Segments never change once written,
 * so the last few decoded ones are kept: paging through a segment reads its blobs once.
 */
import type { DB } from '../store/index.ts';
import type { InferenceLogSegmentTable } from '../store/schema.ts';
import { ANOMALIES, type ColumnSpec, MODELS, type StoredColumn, TIME, readColumn, rowValue } from './segments.ts';

export type SegmentHead = Omit<InferenceLogSegmentTable, 'id'> & { id: number };

export type LogRecord = Record<string, unknown>;

/** A segment decoded: per-row accessors over its columns. */
export class Segment {
  readonly time: Float64Array;
  private readonly models: unknown[][];
  private readonly modelIdx?: Uint16Array;
  private readonly anomalyLists?: unknown[];
  private readonly requests: [number, string | null, number, Record<string, unknown>][];
  /** Row -> index into requests. */
  private readonly requestOf: Uint32Array;
  /** Request -> its first row. */
  private readonly requestStart: number[] = [];
  /** in., out. and shadow. columns, in stored order. */
  readonly values: StoredColumn[];

  constructor(readonly head: SegmentHead, columns: Map<string, StoredColumn>) {
    this.time = columns.get(TIME)!.typed as Float64Array;
    this.models = JSON.parse(head.models);
    this.modelIdx = columns.get(MODELS)?.typed as Uint16Array | undefined;
    this.anomalyLists = columns.get(ANOMALIES)?.values;
    this.requests = JSON.parse(head.requests);
    this.requestOf = new Uint32Array(head.rows);
    let row = 0;
    this.requests.forEach(([n], k) => { this.requestStart.push(row); this.requestOf.fill(k, row, row + n); row += n; });
    this.values = [...columns.values()].filter((c) => c.spec.name !== TIME && c.spec.name !== MODELS && c.spec.name !== ANOMALIES);
  }

  get rows(): number { return this.head.rows; }
  anomalies(i: number): string[] { return (this.anomalyLists?.[i] as string[] | undefined) ?? []; }
  modelsOf(i: number): unknown[] { return this.models[this.modelIdx ? this.modelIdx[i] : 0]; }
  /** Row i's request: `index` is the request within the segment, `row` the row within the request, `rows` its row count. */
  request(i: number): { requestId: string | null; latencyMs: number; metadata: Record<string, unknown>; index: number; row: number; rows: number } {
    const k = this.requestOf[i];
    const [rows, requestId, latencyMs, metadata] = this.requests[k];
    return { requestId, latencyMs, metadata, index: k, row: i - this.requestStart[k], rows };
  }

  /** Flat columns, in the order the row layout always had: time, in.*, out.*, shadow.*, anomaly.*, metadata.* */
  record(i: number): LogRecord {
    const rec: LogRecord = { time: this.time[i] };
    for (const c of this.values) {
      const v = rowValue(c, i);
      // A challenger that failed on another request of this segment has no value here.
      if (v === null && c.spec.name.endsWith('.error') && c.spec.name.startsWith('shadow.')) continue;
      rec[c.spec.name] = v;
    }
    const broken = this.anomalies(i);
    rec['anomaly.count'] = broken.length;
    for (const name of broken) rec[`anomaly.${name}`] = true;
    const r = this.request(i);
    rec['metadata.pipeline_version'] = this.head.pipeline_version;
    rec['metadata.models'] = this.modelsOf(i);
    rec['metadata.latency_ms'] = r.latencyMs;
    rec['metadata.request_id'] = r.requestId;
    for (const [k, v] of Object.entries(r.metadata)) rec[`metadata.${k}`] = v;
    return rec;
  }
}

const CACHE_SEGMENTS = 8;
const caches = new WeakMap<DB, Map<number, Segment>>();

/** A segment with all its columns (from the small cache of recently read ones when there). */
export async function loadSegment(db: DB, head: SegmentHead): Promise<Segment> {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  const hit = cache.get(head.id);
  if (hit) return hit;
  const specs = new Map((JSON.parse(head.columns) as ColumnSpec[]).map((s) => [s.name, s]));
  const blobs = await db.selectFrom('inference_log_columns').select(['name', 'data']).where('segment_id', '=', head.id).execute();
  const columns = new Map<string, StoredColumn>();
  // Stored order, not the order the rows came back in.
  for (const [name, spec] of specs) {
    const b = blobs.find((x) => x.name === name);
    if (b) columns.set(name, readColumn(spec, b.data));
  }
  const seg = new Segment(head, columns);
  cache.set(head.id, seg);
  if (cache.size > CACHE_SEGMENTS) cache.delete(cache.keys().next().value!);
  return seg;
}

export const headColumns = ['id', 'workspace_id', 'pipeline_id', 'pipeline_version', 'time_min', 'time_max', 'rows', 'anomaly_rows', 'models', 'requests', 'columns'] as const;
