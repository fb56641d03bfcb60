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

/**
 * One entry's columns, each typed when the tensor is numeric and batched along the rows. Names
 * are unique (a segment's primary key): a challenger that shows up twice keeps its last outcome,
 * as the row layout's per-model object did.
 */
function entryColumns(e: LogEntry, n: number): EntryColumn[] {
  const out = new Map<string, EntryColumn>();
  const add = (name: string, t: Tensor) => {
    if (t.datatype !== 'BYTES' && t.shape.length > 0 && t.shape[0] === n && t.data instanceof typedCtors[t.datatype]) {
      out.set(name, { spec: { name, encoding: 'typed', datatype: t.datatype, shape: t.shape.slice(1) }, tensor: t });
    } else out.set(name, { spec: { name, encoding: 'json' }, values: rowValues(t, n) });
  };
  for (const t of e.inputs) add(`in.${t.name}`, t);
  for (const t of e.outputs) add(`out.${t.name}`, t);
  for (const s of e.shadows ?? []) {
    for (const k of [...out.keys()]) if (k.startsWith(`shadow.${s.model}.`)) out.delete(k);
    if (s.outputs) for (const t of s.outputs) add(`shadow.${s.model}.${t.name}`, t);
    else out.set(`shadow.${s.model}.error`, { spec: { name: `shadow.${s.model}.error`, encoding: 'json' }, values: new Array(n).fill(s.error ?? 'failed') });
  }
  return [...out.values()];
}

/** Per row, the list of answering models (as the `models` metadata shows them). */
function modelsOfRow(e: LogEntry, i: number): unknown[] {
  return e.trace.map((t) => t.models[t.rowModel ? t.rowModel[i] : 0]);
}

/** A dedupe key for a list of answering models: cheaper than JSON for the one-per-request case. */
const modelsKey = (models: unknown[]) =>
  models.map((m) => { const a = m as AnsweringModel; return `${a.step}/${a.name}/${a.version}/${a.sha256}/${a.arm}`; }).join('|');

/** Runners build a trace per request: compare the answering model by value, without a key. */
const sameModel = (a: AnsweringModel, b: AnsweringModel) =>
  a === b || (a.step === b.step && a.name === b.name && a.version === b.version && a.sha256 === b.sha256 && a.arm === b.arm);

/** A layout key: column names, encodings, datatypes and per-row shapes. */
const layoutKey = (cols: EntryColumn[]) => cols.map((c) => `${c.spec.name}:${c.spec.encoding}:${c.spec.datatype}:${c.spec.shape}`).join(',');

type Typed = Exclude<TensorData, string[]>;
type TypedCtor = { new (n: number): Typed; new (b: ArrayBufferLike): Typed; BYTES_PER_ELEMENT: number };

/** A typed column being filled: doubles its buffer as rows come (off the JS heap, never scanned by GC). */
class Growable {
  private data: Typed;
  length = 0;
  constructor(private readonly Ctor: TypedCtor, capacity = 1024) { this.data = new Ctor(capacity); }
  private reserve(n: number): void {
    if (this.length + n <= this.data.length) return;
    let cap = this.data.length * 2;
    while (cap < this.length + n) cap *= 2;
    // Uninitialised memory: every element up to `length` is written before it is read, and zero-filling
    // megabytes each time a busy segment doubles showed in profiles.
    const next = new this.Ctor(Buffer.allocUnsafeSlow(cap * this.Ctor.BYTES_PER_ELEMENT).buffer);
    (next as Uint8Array).set(this.data.subarray(0, this.length) as Uint8Array);
    this.data = next;
  }
  push(src: Typed): void {
    this.reserve(src.length);
    (this.data as Uint8Array).set(src as Uint8Array, this.length);
    this.length += src.length;
  }
  push1(v: number): void {
    this.reserve(1);
    (this.data as Float64Array)[this.length++] = v;
  }
  fill(v: number, n: number): void {
    this.reserve(n);
    (this.data as Float64Array).fill(v, this.length, this.length + n);
    this.length += n;
  }
  set(i: number, v: number): void { (this.data as Float64Array)[i] = v; }
  get(i: number): number { return (this.data as Float64Array)[i]; }
  view(): Typed { return this.data.subarray(0, this.length) as Typed; }
}

const NONE: string[] = [];

/** One segment being filled: rows of one pipeline version and one column layout. */
class OpenSegment {
  rows = 0;
  anomalyRows = 0;
  bytes = 0;
  readonly time = new Growable(Float64Array as unknown as TypedCtor);
  readonly modelIdx = new Growable(Uint16Array as unknown as TypedCtor);
  readonly models: unknown[] = [];
  private readonly modelKeys = new Map<string, number>();
  /** Per row, up to the last row that broke a validation (the rest are filled in by draft()). */
  readonly anomalies: string[][] = [];
  private readonly requestRows = new Growable(Uint32Array as unknown as TypedCtor, 256);
  private readonly requestLatency = new Growable(Float64Array as unknown as TypedCtor, 256);
  private readonly requestIds: (string | null)[] = [];
  private readonly requestMeta: (Record<string, unknown> | null)[] = [];
  /** `tensor`: the logged tensor's own name, for fits(). */
  readonly columns: { spec: ColumnSpec; tensor?: string; typed?: Growable; values?: unknown[] }[];
  private readonly inputCount: number;

  constructor(readonly first: LogEntry, cols: EntryColumn[]) {
    this.columns = cols.map((c) => (c.tensor
      ? { spec: c.spec, tensor: c.tensor.name, typed: new Growable(typedCtors[c.spec.datatype as Exclude<DataType, 'BYTES'>] as unknown as TypedCtor, Math.max(1024, c.tensor.data.length)) }
      : { spec: c.spec, values: [] }));
    this.inputCount = cols.filter((c) => c.spec.name.startsWith('in.')).length;
  }

  /** The answering models' index for row `i` of an entry; one step answered by one model is the common, cheap case. */
  private lastModel: AnsweringModel | undefined;
  private lastModelIdx = 0;
  private modelIndex(e: LogEntry, i: number): number {
    const one = e.trace.length === 1 && !e.trace[0].rowModel ? e.trace[0].models[0] : undefined;
    if (one !== undefined && this.lastModel !== undefined && sameModel(one, this.lastModel)) return this.lastModelIdx;
    const m = modelsOfRow(e, i);
    const key = modelsKey(m);
    let idx = this.modelKeys.get(key);
    if (idx === undefined) { this.modelKeys.set(key, (idx = this.models.length)); this.models.push(m); }
    if (one !== undefined) { this.lastModel = one; this.lastModelIdx = idx; }
    return idx;
  }

  /** Whether an entry's tensors are exactly this segment's typed columns (the steady state: no key to build). */
  fits(e: LogEntry, n: number): boolean {
    if (e.pipelineId !== this.first.pipelineId || e.pipelineVersion !== this.first.pipelineVersion || e.workspaceId !== this.first.workspaceId) return false;
    if ((e.shadows?.length ?? 0) > 0 || this.inputCount !== e.inputs.length || this.columns.length !== e.inputs.length + e.outputs.length) return false;
    const cols = this.columns;
    let k = 0;
    for (const batch of [e.inputs, e.outputs]) {
      for (const t of batch) {
        const c = cols[k++];
        if (!c.typed || c.tensor !== t.name || c.spec.datatype !== t.datatype || t.shape.length !== c.spec.shape!.length + 1 || t.shape[0] !== n) return false;
        if (!(t.data instanceof typedCtors[t.datatype as Exclude<DataType, 'BYTES'>])) return false;
        for (let d = 1; d < t.shape.length; d++) if (t.shape[d] !== c.spec.shape![d - 1]) return false;
      }
    }
    return true;
  }

  add(e: LogEntry, n: number, cols?: EntryColumn[]): void {
    const row = this.rows;
    this.time.fill(e.time, n);
    this.modelIdx.fill(0, n);
    let single = true;
    for (const t of e.trace) if (t.rowModel) single = false;
    const first = this.modelIndex(e, 0);
    for (let i = 0; i < n; i++) this.modelIdx.set(row + i, single || i === 0 ? first : this.modelIndex(e, i));
    // Validations broken: kept per row only once some row of the segment broke one.
    for (let i = 0; i < e.anomalies.length && i < n; i++) {
      const broken = e.anomalies[i];
      if (!broken?.length) continue;
      while (this.anomalies.length < row + i) this.anomalies.push(NONE);
      this.anomalies.push(broken);
      this.anomalyRows++;
    }
    // Request-level fields in flat arrays: nothing per request outlives the flush but its id and non-empty metadata.
    this.requestRows.push1(n);
    this.requestLatency.push1(e.latencyMs);
    this.requestIds.push(e.requestId ?? null);
    let meta: Record<string, unknown> | null = null;
    for (const _ in e.metadata) { meta = e.metadata; break; }
    this.requestMeta.push(meta);
    this.bytes += 64 + 16 * n;
    if (!cols) {
      // fits() said so: the entry's tensors, in order, are the typed columns.
      let k = 0;
      for (const t of e.inputs) this.pushTyped(this.columns[k++].typed!, t.data as Typed);
      for (const t of e.outputs) this.pushTyped(this.columns[k++].typed!, t.data as Typed);
    } else {
      for (let k = 0; k < cols.length; k++) {
        const c = cols[k];
        const col = this.columns[k];
        if (col.typed) this.pushTyped(col.typed, c.tensor!.data as Typed);
        else { for (const v of c.values!) col.values!.push(v); this.bytes += 16 * n; }
      }
    }
    this.rows += n;
  }

  private pushTyped(g: Growable, data: Typed): void {
    g.push(data);
    this.bytes += data.byteLength;
  }

  draft(): SegmentDraft {
    const time = this.time.view() as Float64Array;
    const columns: SegmentDraft['columns'] = [{ spec: { name: TIME, encoding: 'typed', datatype: 'FP64', shape: [] }, data: time }];
    if (this.models.length > 1) columns.push({ spec: { name: MODELS, encoding: 'typed', datatype: 'UINT16', shape: [] }, data: this.modelIdx.view() });
    if (this.anomalyRows) {
      while (this.anomalies.length < this.rows) this.anomalies.push(NONE);
      columns.push({ spec: { name: ANOMALIES, encoding: 'json' }, data: this.anomalies });
    }
    for (const c of this.columns) columns.push({ spec: c.spec, data: c.typed ? c.typed.view() : c.values! });
    const rows = this.requestRows.view() as Uint32Array;
    const latency = this.requestLatency.view() as Float64Array;
    const requests: SegmentDraft['requests'] = new Array(rows.length);
    let timeMin = Infinity;
    let timeMax = -Infinity;
    for (let k = 0, row = 0; k < rows.length; row += rows[k], k++) {
      requests[k] = [rows[k], this.requestIds[k], latency[k], this.requestMeta[k] ?? {}];
      if (time[row] < timeMin) timeMin = time[row];
      if (time[row] > timeMax) timeMax = time[row];
    }
    const e = this.first;
    return {
      workspaceId: e.workspaceId, pipelineId: e.pipelineId, pipelineVersion: e.pipelineVersion,
      timeMin, timeMax, rows: this.rows, anomalyRows: this.anomalyRows, models: this.models, requests, columns, bytes: this.bytes,
    };
  }
}

/**
 * Collects log entries into open segments as they come: each entry's tensors are copied into
 * its segment's growing columns at once (exactly the logged bytes, never a request's shared
 * buffer), so requests' objects die young; `take` hands the segments over and starts afresh.
 */
export class SegmentBuilder {
  private open = new Map<string, OpenSegment>();
  /** The segment the previous entry went to: the next one usually fits it too. */
  private last: OpenSegment | undefined;
  rows = 0;
  bytes = 0;

  /** Adds an entry; returns the bytes it added. */
  append(e: LogEntry): number {
    const n = rowCount(e.inputs);
    if (n === 0) return 0; // an empty batch logs no rows
    let seg = this.last;
    let cols: EntryColumn[] | undefined;
    if (!seg || !seg.fits(e, n)) {
      cols = entryColumns(e, n);
      const key = `${e.workspaceId}|${e.pipelineId}|${e.pipelineVersion}|${layoutKey(cols)}`;
      seg = this.open.get(key);
      if (!seg) this.open.set(key, (seg = new OpenSegment(e, cols)));
      this.last = seg;
    }
    const before = seg.bytes;
    seg.add(e, n, cols);
    this.rows += n;
    this.bytes += seg.bytes - before;
    return seg.bytes - before;
  }

  take(): SegmentDraft[] {
    const drafts = [...this.open.values()].map((s) => s.draft());
    this.open = new Map();
    this.last = undefined;
    this.rows = 0;
    this.bytes = 0;
    return drafts;
  }
}

/**
 * A segment's rows in time order: requests are appended as they finish, not as they started,
 * so their runs of rows are reordered (stably) by time. The writer thread does this, off the
 * event loop; a segment already in order is returned as it is.
 */
export function inTimeOrder(d: SegmentDraft): SegmentDraft {
  const time = d.columns[0].data as Float64Array;
  const starts: number[] = [];
  let row = 0;
  for (const [n] of d.requests) { starts.push(row); row += n; }
  if (starts.every((r, k) => k === 0 || time[starts[k - 1]] <= time[r])) return d;
  const order = starts.map((_, k) => k).sort((a, b) => time[starts[a]] - time[starts[b]] || a - b);
  const columns = d.columns.map(({ spec, data }) => {
    const step = spec.encoding === 'typed' ? elementCount(spec.shape ?? []) : 1;
    if (Array.isArray(data)) return { spec, data: order.flatMap((k) => data.slice(starts[k], starts[k] + d.requests[k][0])) };
    const out = new (data.constructor as TypedCtor)(data.length);
    let at = 0;
    for (const k of order) {
      const part = data.subarray(starts[k] * step, (starts[k] + d.requests[k][0]) * step);
      (out as Uint8Array).set(part as Uint8Array, at);
      at += part.length;
    }
    return { spec, data: out };
  });
  return { ...d, columns, requests: order.map((k) => d.requests[k]) };
}

/** Entries into segments, in time order (what the writer does, in one call; for tests and tools). */
export function buildSegments(entries: LogEntry[]): SegmentDraft[] {
  const b = new SegmentBuilder();
  for (const e of entries) b.append(e);
  return b.take().map(inTimeOrder);
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
