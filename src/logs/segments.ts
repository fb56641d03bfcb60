/**
 * The inference log's storage layout: rows are stored in segments, one per flush and pipeline
 * version and column layout, each column of a segment a typed-array blob (or, for strings and
 * tensors not batched along the rows, a JSON array). Writing a segment is a handful of inserts
 * whatever its row count; reading one column (an assay) is a blob view, with nothing parsed.
 * See src/logs/README.md for the layout and its PostgreSQL mapping.
 */
import { float16BitsToNumber } from '../codecs/float16.ts';
import { type DataType, type Tensor, type TensorData, bytesPerElement, elementCount, nest } from '../codecs/tensor.ts';
import { rowCount, rowValues } from '../codecs/records.ts';
import type { AnsweringModel } from '../inference/runner.ts';
import type { LogEntry } from './entry.ts';

/** How one column of a segment is stored. `shape` is one row's shape (the batch dimension left out). */
export interface ColumnSpec {
  name: string;
  encoding: 'typed' | 'json';
  datatype?: DataType;
  shape?: number[];
}

/** A segment ready to insert: what the writer thread receives (typed data travels as transferred buffers). */
export interface SegmentDraft {
  workspaceId: number;
  pipelineId: number;
  pipelineVersion: number;
  timeMin: number;
  timeMax: number;
  rows: number;
  anomalyRows: number;
  /** Distinct lists of answering models; the `models` column indexes it per row when there are several. */
  models: unknown[];
  /** Per request, in row order: [rows, request_id, latency_ms, metadata]. */
  requests: [number, string | null, number, Record<string, unknown>][];
  columns: { spec: ColumnSpec; data: Exclude<TensorData, string[]> | unknown[] }[];
  /** Approximate bytes held, for the backlog bound. */
  bytes: number;
}

/** The per-row columns every segment has or may have, besides in./out./shadow. ones. */
export const TIME = 'time';
export const MODELS = 'models';
export const ANOMALIES = 'anomalies';

interface EntryColumn { spec: ColumnSpec; tensor?: Tensor; values?: unknown[] }

/** One entry's columns, each typed when the tensor is numeric and batched along the rows. */
function entryColumns(e: LogEntry, n: number): EntryColumn[] {
  const out: EntryColumn[] = [];
  const add = (name: string, t: Tensor) => {
    if (t.datatype !== 'BYTES' && t.shape.length > 0 && t.shape[0] === n) {
      out.push({ spec: { name, encoding: 'typed', datatype: t.datatype, shape: t.shape.slice(1) }, tensor: t });
    } else out.push({ spec: { name, encoding: 'json' }, values: rowValues(t, n) });
  };
  for (const t of e.inputs) add(`in.${t.name}`, t);
  for (const t of e.outputs) add(`out.${t.name}`, t);
  for (const s of e.shadows ?? []) {
    if (s.outputs) for (const t of s.outputs) add(`shadow.${s.model}.${t.name}`, t);
    else out.push({ spec: { name: `shadow.${s.model}.error`, encoding: 'json' }, values: new Array(n).fill(s.error ?? 'failed') });
  }
  return out;
}

/** Per row, the list of answering models (as the `models` metadata shows them). */
function modelsOfRow(e: LogEntry, i: number): unknown[] {
  return e.trace.map((t) => t.models[t.rowModel ? t.rowModel[i] : 0]);
}

/** A dedupe key for a list of answering models: cheaper than JSON for the one-per-request case. */
const modelsKey = (models: unknown[]) =>
  models.map((m) => { const a = m as AnsweringModel; return `${a.step}/${a.name}/${a.version}/${a.sha256}/${a.arm}`; }).join('|');

/** A layout key: column names, encodings, datatypes and per-row shapes. */
const layoutKey = (cols: EntryColumn[]) => cols.map((c) => `${c.spec.name}:${c.spec.encoding}:${c.spec.datatype}:${c.spec.shape}`).join(',');

/**
 * Groups entries into segments: same pipeline version and the same column layout. Entries are
 * sorted by time first, so a segment's rows are in time order. Typed columns are concatenated
 * into one fresh array each (a copy of exactly the logged bytes, never of a request's buffer).
 */
export function buildSegments(entries: LogEntry[]): SegmentDraft[] {
  const groups = new Map<string, { entries: LogEntry[]; cols: EntryColumn[][]; rows: number[] }>();
  // Usually appended in time order already; a slow shadow's entry arrives late.
  const sorted = entries.every((e, i) => i === 0 || entries[i - 1].time <= e.time) ? entries : [...entries].sort((a, b) => a.time - b.time);
  for (const e of sorted) {
    const n = rowCount(e.inputs);
    if (n === 0) continue; // an empty batch logs no rows
    const cols = entryColumns(e, n);
    const key = `${e.workspaceId}|${e.pipelineId}|${e.pipelineVersion}|${layoutKey(cols)}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { entries: [], cols: [], rows: [] }));
    g.entries.push(e);
    g.cols.push(cols);
    g.rows.push(n);
  }
  const drafts: SegmentDraft[] = [];
  for (const g of groups.values()) {
    const total = g.rows.reduce((a, b) => a + b, 0);
    const first = g.entries[0];
    const time = new Float64Array(total);
    const dict = new Map<string, number>();
    const models: unknown[] = [];
    const modelIdx = new Uint16Array(total);
    const anomalies: string[][] = new Array(total);
    let anomalyRows = 0;
    const requests: SegmentDraft['requests'] = [];
    let row = 0;
    for (const [k, e] of g.entries.entries()) {
      const n = g.rows[k];
      time.fill(e.time, row, row + n);
      requests.push([n, e.requestId ?? null, e.latencyMs, e.metadata]);
      const single = e.trace.every((t) => !t.rowModel);
      for (let i = 0; i < n; i++) {
        if (!single || i === 0) {
          const m = modelsOfRow(e, i);
          const key = modelsKey(m);
          let idx = dict.get(key);
          if (idx === undefined) { dict.set(key, (idx = models.length)); models.push(m); }
          modelIdx[row + i] = idx;
        } else modelIdx[row + i] = modelIdx[row];
        const broken = e.anomalies[i] ?? [];
        anomalies[row + i] = broken;
        if (broken.length) anomalyRows++;
      }
      row += n;
    }
    const columns: SegmentDraft['columns'] = [{ spec: { name: TIME, encoding: 'typed', datatype: 'FP64', shape: [] }, data: time }];
    if (models.length > 1) columns.push({ spec: { name: MODELS, encoding: 'typed', datatype: 'UINT16', shape: [] }, data: modelIdx });
    if (anomalyRows) columns.push({ spec: { name: ANOMALIES, encoding: 'json' }, data: anomalies });
    let bytes = 16 * total + 64 * g.entries.length;
    for (const [c, col] of g.cols[0].entries()) {
      const { spec } = col;
      if (spec.encoding === 'typed') {
        const parts = g.cols.map((cols) => cols[c].tensor!.data as Exclude<TensorData, string[]>);
        const len = parts.reduce((a, p) => a + p.length, 0);
        const Ctor = parts[0].constructor as new (n: number) => Exclude<TensorData, string[]>;
        const data = new Ctor(len);
        let at = 0;
        for (const p of parts) { (data as Uint8Array).set(p as Uint8Array, at); at += p.length; }
        bytes += data.byteLength;
        columns.push({ spec, data });
      } else {
        const values = g.cols.flatMap((cols) => cols[c].values!);
        bytes += 16 * values.length;
        columns.push({ spec, data: values });
      }
    }
    drafts.push({
      workspaceId: first.workspaceId, pipelineId: first.pipelineId, pipelineVersion: first.pipelineVersion,
      timeMin: time[0], timeMax: time[total - 1], rows: total, anomalyRows, models, requests, columns, bytes,
    });
  }
  return drafts;
}

/** A column's stored bytes: typed data as it lies in memory (little-endian), JSON as UTF-8. */
export function columnBytes(data: SegmentDraft['columns'][number]['data']): Buffer {
  return Array.isArray(data) ? Buffer.from(JSON.stringify(data)) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** A stored column read back: typed views over the blob (copied only when the blob is misaligned). */
export interface StoredColumn {
  spec: ColumnSpec;
  /** typed: the flat data, rows x elements */
  typed?: Exclude<TensorData, string[]>;
  /** json: one value per row */
  values?: unknown[];
  /** Elements per row (typed). */
  step: number;
  /** Element to JSON value, made on first use. */
  read?: (x: number | bigint) => unknown;
}

const typedCtors: Record<Exclude<DataType, 'BYTES'>, { new (b: ArrayBuffer, o: number, n: number): Exclude<TensorData, string[]>; BYTES_PER_ELEMENT: number }> = {
  BOOL: Uint8Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
  INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
} as never;

export function readColumn(spec: ColumnSpec, blob: Uint8Array): StoredColumn {
  if (spec.encoding === 'json') return { spec, values: JSON.parse(Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength).toString('utf8')), step: 1 };
  const dt = spec.datatype as Exclude<DataType, 'BYTES'>;
  const bpe = bytesPerElement(dt)!;
  let b = blob;
  if (b.byteOffset % bpe !== 0) b = Uint8Array.prototype.slice.call(b);
  const typed = new typedCtors[dt](b.buffer as ArrayBuffer, b.byteOffset, b.byteLength / bpe);
  return { spec, typed, step: elementCount(spec.shape ?? []) };
}

/** How one stored element reads in JSON: NaN and infinities as null (JSON has neither), BOOL as booleans. */
function elementReader(dt: DataType): (x: number | bigint) => unknown {
  switch (dt) {
    case 'FP32': case 'FP64': return (x) => (Number.isFinite(x) ? x : null);
    case 'FP16': return (x) => float16BitsToNumber(x as number);
    case 'BOOL': return (x) => x !== 0;
    case 'INT64': case 'UINT64': return (x) => Number(x);
    default: return (x) => x;
  }
}

/** One row's value as the log API shows it (JSON types: numbers, booleans, nested arrays, null for NaN). */
export function rowValue(c: StoredColumn, i: number): unknown {
  if (c.values) return c.values[i];
  const shape = c.spec.shape ?? [];
  const t = c.typed!;
  const read = (c.read ??= elementReader(c.spec.datatype!));
  const base = i * c.step;
  if (shape.length === 0) return read(t[base]);
  const flat = new Array(c.step);
  for (let k = 0; k < c.step; k++) flat[k] = read(t[base + k]);
  return shape.length === 1 ? flat : nest(flat, shape);
}

/**
 * The flat offset of `index` inside one row of this column, or -1 when the row's shape does not
 * have that element (a segment logged under another signature).
 */
export function elementOffset(c: StoredColumn, index: number[] | null): number {
  const shape = c.spec.shape ?? [];
  const idx = index ?? [];
  if (idx.length !== shape.length) return -1;
  let off = 0;
  for (let d = 0; d < shape.length; d++) {
    if (idx[d] < 0 || idx[d] >= shape[d]) return -1;
    off = off * shape[d] + idx[d];
  }
  return off;
}

/** Row `i`'s element at `index` of a JSON-encoded column (nested arrays), or undefined. */
export function jsonElement(c: StoredColumn, i: number, index: number[] | null): unknown {
  let v: unknown = c.values![i];
  for (const k of index ?? []) v = Array.isArray(v) ? v[k] : undefined;
  return v;
}
