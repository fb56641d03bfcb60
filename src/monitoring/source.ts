/**
 * Reading an assay's target where the data is: the inference log's typed column blobs
 * (logs/segments.ts), segment by segment, one column at a time. A value is an element of a
 * typed array: nothing is parsed, and no log row ever becomes a JS object. Memory stays bounded
 * by a batch of segments, except where a metric needs the whole sample (numericValues).
 */
import { float16BitsToNumber } from '../codecs/float16.ts';
import { fail } from '../errors/index.ts';
import { TIME, elementOffset, jsonElement, readColumn, type ColumnSpec } from '../logs/segments.ts';
import type { PipelineVersion } from '../pipelines/index.ts';
import type { DB } from '../store/index.ts';
import { type Category, asCategory, interiorBins, numericBinIndex } from './binning.ts';

export interface ColumnRef {
  /** The log column the value lives in: in.<input> or out.<output>. */
  column: string;
  /** The element within one row's tensor; null for one value per row. */
  index: number[] | null;
  /** As users write it: out.probabilities[1] */
  label: string;
  /** The tensor's datatype, for the default target kind. */
  datatype: string;
}

/** Checks `in.<name>` / `out.<name>` and the element index against every version's signature. */
export function resolveColumn(versions: PipelineVersion[], column: string, index: number[] | null): ColumnRef {
  const m = /^(in|out)\.(.+)$/.exec(column);
  if (!m) return fail('UNKNOWN_COLUMN', `'target.column' must be 'in.<input>' or 'out.<output>', got '${column}'`);
  const side = m[1] === 'in' ? 'inputs' : 'outputs';
  const name = m[2];
  const specs = versions.flatMap((v) => (side === 'inputs' ? v.signature.inputs : v.signature.outputs));
  const spec = specs.find((s) => s.name === name);
  if (!spec) {
    const known = [...new Set(specs.map((s) => `${m[1]}.${s.name}`))].join(', ');
    return fail('UNKNOWN_COLUMN', `pipeline '${versions[0]?.pipeline}' has no column '${column}'; its ${side} are: ${known || '(none)'}`);
  }
  const row = spec.shape.slice(1); // the batch dimension comes first
  if (row.length === 0 && index) fail('UNKNOWN_COLUMN', `'${column}' holds one value per row; leave 'target.index' out`);
  if (row.length > 0 && !index) {
    fail('UNKNOWN_COLUMN', `'${column}' holds a tensor of shape [${row.join(', ')}] per row; give 'target.index' (e.g. ${row.length === 1 ? 0 : `[${row.map(() => 0).join(', ')}]`})`);
  }
  if (index) {
    if (index.length !== row.length) fail('UNKNOWN_COLUMN', `'${column}' rows have ${row.length} dimension(s); 'target.index' has ${index.length}`);
    index.forEach((i, d) => {
      if (row[d] >= 0 && i >= row[d]) fail('UNKNOWN_COLUMN', `'target.index' ${i} is out of range for dimension ${d} of '${column}' (size ${row[d]})`);
    });
  }
  const suffix = index ? index.map((i) => `[${i}]`).join('') : '';
  return { column, index, label: `${column}${suffix}`, datatype: spec.datatype };
}

/** Segments read per query: bounds memory to this many segments' target column. */
const SEGMENTS_PER_READ = 32;

/**
 * The target's values of one segment's rows in range: a typed column read in place (element
 * `row * step + off` of `typed`; `rows` null: every row of the segment), numbers (NaN: missing,
 * not finite, not numeric) or raw JSON values.
 */
type Chunk =
  | { typed: { col: ReturnType<typeof readColumn>; off: number; rows: number[] | null; n: number }; numbers?: undefined; raw?: undefined }
  | { numbers: Float64Array; raw?: undefined; typed?: undefined }
  | { raw: unknown[]; numbers?: undefined; typed?: undefined };

function typedNumbers(col: ReturnType<typeof readColumn>, off: number, rows: number[] | null, n: number): Float64Array {
  const out = new Float64Array(rows ? rows.length : n);
  if (off < 0) return out.fill(NaN);
  const t = col.typed!;
  const step = col.step;
  const fp16 = col.spec.datatype === 'FP16';
  const big = typeof t[0] === 'bigint';
  for (let j = 0; j < out.length; j++) {
    const i = rows ? rows[j] : j;
    const raw = t[i * step + off];
    const x = fp16 ? float16BitsToNumber(raw as number) : big ? Number(raw) : (raw as number);
    out[j] = Number.isFinite(x) ? x : NaN;
  }
  return out;
}

/**
 * The target per segment overlapping [start, end), in log order. Rows of a segment that lies
 * wholly inside the range need no time check; only a segment the range cuts reads its time column.
 * A segment without the column (logged under another signature) gives missing values.
 */
async function* targetChunks(db: DB, pipelineId: number, c: ColumnRef, start: number, end: number): AsyncGenerator<Chunk> {
  let last = 0;
  for (;;) {
    const segs = await db.selectFrom('inference_log_segments as s')
      .leftJoin('inference_log_columns as c', (j) => j.onRef('c.segment_id', '=', 's.id').on('c.name', '=', c.column))
      .select(['s.id', 's.rows', 's.time_min', 's.time_max', 's.columns', 'c.data'])
      .where('s.pipeline_id', '=', pipelineId).where('s.time_max', '>=', start).where('s.time_min', '<', end).where('s.id', '>', last)
      .orderBy('s.id').limit(SEGMENTS_PER_READ).execute();
    for (const s of segs) {
      let rows: number[] | null = null;
      if (Number(s.time_min) < start || Number(s.time_max) >= end) {
        const t = await db.selectFrom('inference_log_columns').select('data').where('segment_id', '=', s.id).where('name', '=', TIME).executeTakeFirstOrThrow();
        const time = readColumn({ name: TIME, encoding: 'typed', datatype: 'FP64', shape: [] }, t.data).typed as Float64Array;
        rows = [];
        for (let i = 0; i < s.rows; i++) if (time[i] >= start && time[i] < end) rows.push(i);
      }
      const n = rows ? rows.length : s.rows;
      const spec = (JSON.parse(s.columns) as ColumnSpec[]).find((x) => x.name === c.column);
      if (!spec || !s.data) yield { numbers: new Float64Array(n).fill(NaN) };
      else {
        const col = readColumn(spec, s.data);
        if (spec.encoding === 'typed') yield { typed: { col, off: elementOffset(col, c.index), rows, n: s.rows } };
        else yield { raw: Array.from({ length: n }, (_, j) => jsonElement(col, rows ? rows[j] : j, c.index)) };
      }
    }
    if (segs.length < SEGMENTS_PER_READ) return;
    last = segs[segs.length - 1].id;
  }
}

/** A JSON value as a number (booleans 1/0, as json_extract gave them); NaN when it is none. */
const jsonNumber = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'boolean' ? Number(v) : NaN);

const numbersOf = (ch: Chunk): ArrayLike<number> =>
  ch.typed ? typedNumbers(ch.typed.col, ch.typed.off, ch.typed.rows, ch.typed.n) : ch.numbers ?? Float64Array.from(ch.raw, jsonNumber);

/** The elements of a float32 / float64 chunk read in place (every row of its segment), or null when it needs converting first. */
function inPlace(ch: Chunk): { t: Float32Array | Float64Array; step: number; off: number; n: number } | null {
  if (!ch.typed || ch.typed.rows || ch.typed.off < 0) return null;
  const t = ch.typed.col.typed;
  return t instanceof Float32Array || t instanceof Float64Array ? { t, step: ch.typed.col.step, off: ch.typed.off, n: ch.typed.n } : null;
}

export interface NumericSummary {
  /** Rows, NaN included. */
  count: number;
  nan_count: number;
  mean: number | null;
  /** Population standard deviation (ddof 0). */
  std: number | null;
  min: number | null;
  max: number | null;
  median?: number | null;
}

export interface NumericWindow {
  counts: number[];
  summary: NumericSummary;
}

/**
 * Bins elements off, off + step, … (n of them) of a float array into `counts`, adding the finite
 * ones to acc = [count, sum, sum of squares, min, max]. A plain function of its own, so that the
 * hottest loop of an assay is optimized on its own (inside the async caller it ran 2–3× slower).
 */
function binFloats(t: Float32Array | Float64Array, step: number, off: number, n: number, edges: number[], counts: number[], acc: Float64Array): void {
  let [nx, s, ss, lo, hi] = acc;
  for (let i = 0, at = off; i < n; i++, at += step) {
    const x = t[at];
    if (x - x !== 0) { counts[0]++; continue; } // NaN and ±Infinity are missing
    counts[numericBinIndex(edges, x)]++;
    nx++;
    s += x;
    ss += x * x;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  acc[0] = nx; acc[1] = s; acc[2] = ss; acc[3] = lo; acc[4] = hi;
}

/** Bin counts and summary statistics of a numeric target over [start, end), in one pass over its column. */
export async function numericWindow(db: DB, pipelineId: number, c: ColumnRef, edges: number[], start: number, end: number): Promise<NumericWindow> {
  const counts = new Array(interiorBins(edges) + 2).fill(0);
  let n = 0;
  let nx = 0;
  let s = 0;
  let ss = 0;
  let lo = Infinity;
  let hi = -Infinity;
  const acc = Float64Array.of(0, 0, 0, Infinity, -Infinity); // what binFloats adds
  for await (const ch of targetChunks(db, pipelineId, c, start, end)) {
    const direct = inPlace(ch);
    if (direct) {
      // The common case, a float column of whole segments: binned where it lies, no copy.
      n += direct.n;
      binFloats(direct.t, direct.step, direct.off, direct.n, edges, counts, acc);
      continue;
    }
    const xs = numbersOf(ch);
    n += xs.length;
    for (let i = 0; i < xs.length; i++) {
      const x = xs[i];
      counts[numericBinIndex(edges, x)]++;
      if (Number.isNaN(x)) continue;
      nx++;
      s += x;
      ss += x * x;
      if (x < lo) lo = x;
      if (x > hi) hi = x;
    }
  }
  nx += acc[0];
  s += acc[1];
  ss += acc[2];
  lo = Math.min(lo, acc[3]);
  hi = Math.max(hi, acc[4]);
  const mean = nx > 0 ? s / nx : null;
  const std = mean !== null ? Math.sqrt(Math.max(0, ss / nx - mean * mean)) : null;
  return { counts, summary: { count: n, nan_count: n - nx, mean, std, min: nx > 0 ? lo : null, max: nx > 0 ? hi : null } };
}

/** Values as categories (NaN and non-values: null). */
function* categoriesOf(ch: Chunk): Generator<Category | null> {
  if (ch.raw) for (const v of ch.raw) yield asCategory(v);
  else for (const x of numbersOf(ch) as Float64Array) yield asCategory(x);
}

/** Counts per category over [start, end): bin 0 missing, 1…K the categories, K+1 unseen. */
export async function categoricalWindow(db: DB, pipelineId: number, c: ColumnRef, categories: (Category | number)[], start: number, end: number): Promise<number[]> {
  // Compared as text, so a profile stored with number categories still matches.
  const pos = new Map<Category, number>(categories.map((cat, i) => [String(cat), i + 1]));
  const counts = new Array(categories.length + 2).fill(0);
  for await (const ch of targetChunks(db, pipelineId, c, start, end)) {
    for (const v of categoriesOf(ch)) counts[v === null ? 0 : pos.get(v) ?? categories.length + 1]++;
  }
  return counts;
}

/** Distinct values and their counts (a categorical baseline from the logs); stops past 100,000 distinct values. */
export async function distinctValues(db: DB, pipelineId: number, c: ColumnRef, start: number, end: number): Promise<Map<Category | null, number>> {
  const out = new Map<Category | null, number>();
  for await (const ch of targetChunks(db, pipelineId, c, start, end)) {
    for (const v of categoriesOf(ch)) {
      out.set(v, (out.get(v) ?? 0) + 1);
      if (out.size > 100_000) return out;
    }
  }
  return out;
}

/** Growable float64 buffer, filled a chunk at a time. */
export class FloatBuffer {
  private buf = new Float64Array(1024);
  length = 0;
  pushAll(xs: ArrayLike<number>): void {
    while (this.length + xs.length > this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf.set(xs, this.length);
    this.length += xs.length;
  }
  /** The values pushed, as a view (no copy). */
  view(): Float64Array { return this.buf.subarray(0, this.length); }
}

/** Every value over [start, end) in a Float64Array; NaN for missing / non-numeric. */
export async function numericValues(db: DB, pipelineId: number, c: ColumnRef, start: number, end: number): Promise<Float64Array> {
  const out = new FloatBuffer();
  for await (const ch of targetChunks(db, pipelineId, c, start, end)) out.pushAll(numbersOf(ch));
  return out.view();
}

/** First and last log time and the row count of a pipeline (for default preview ranges). */
export async function logSpan(db: DB, pipelineId: number): Promise<{ first: number | null; last: number | null; rows: number }> {
  const r = await db.selectFrom('inference_log_segments').where('pipeline_id', '=', pipelineId)
    .select((eb) => [eb.fn.min('time_min').as('first'), eb.fn.max('time_max').as('last'), eb.fn.sum<number>('rows').as('rows')])
    .executeTakeFirstOrThrow();
  return { first: r.first === null ? null : Number(r.first), last: r.last === null ? null : Number(r.last), rows: Number(r.rows) };
}
