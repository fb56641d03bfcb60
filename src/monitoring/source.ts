/**
 * Reading an assay's target where the data is: SQLite's json_extract over the inference log's
 * `inputs` / `outputs` JSON, histograms aggregated in SQL (one row per bin comes back), and raw
 * values streamed into a Float64Array when a metric needs the sample. No log row ever becomes a
 * JS object.
 */
import { type RawBuilder, sql } from 'kysely';
import { fail } from '../errors/index.ts';
import type { PipelineVersion } from '../pipelines/index.ts';
import { type DB, sqliteOf } from '../store/index.ts';
import { type Category, interiorBins } from './binning.ts';

export interface ColumnRef {
  /** The JSON column of inference_logs the value lives in. */
  side: 'inputs' | 'outputs';
  /** SQLite JSON path, e.g. $."probabilities"[1] */
  path: string;
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
  if (name.includes('"')) fail('UNKNOWN_COLUMN', `column names with '"' cannot be assayed: '${column}'`);
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
  return { side, path: `$."${name}"${suffix}`, label: `${column}${suffix}`, datatype: spec.datatype };
}

const valueExpr = (c: ColumnRef) => sql`json_extract(${sql.ref(c.side)}, ${c.path})`;

/**
 * The target as a category's text (mirrors `asCategory` in binning.ts): a string as it is, any
 * other JSON value as its JSON text (`->` gives the number as logged: 0 → '0', true → 'true'),
 * JSON null or no value NULL.
 */
const categoryExpr = (c: ColumnRef) => {
  const col = sql.ref(c.side);
  return sql`CASE json_type(${col}, ${c.path}) WHEN 'text' THEN json_extract(${col}, ${c.path}) WHEN 'null' THEN NULL ELSE ${col} -> ${c.path} END`;
};

/**
 * How to reach a pipeline's rows in [start, end). Rows are appended in about time order, so when
 * they make up most of the rowid range they span, walking that range of the table in order (and
 * filtering) beats looking each row up through the (pipeline_id, time) index.
 */
interface Scan { lo: number; hi: number; dense: boolean }

async function planScan(db: DB, pipelineId: number, start: number, end: number): Promise<Scan> {
  const r = await db.selectFrom('inference_logs').where('pipeline_id', '=', pipelineId).where('time', '>=', start).where('time', '<', end)
    .select((eb) => [eb.fn.min('id').as('lo'), eb.fn.max('id').as('hi'), eb.fn.countAll().as('n')]).executeTakeFirstOrThrow();
  const lo = Number(r.lo ?? 0);
  const hi = Number(r.hi ?? -1);
  return { lo, hi, dense: Number(r.n) >= 10_000 && Number(r.n) >= 0.5 * (hi - lo + 1) };
}

/** The target per log row in [start, end): a co-routine (LIMIT -1 keeps SQLite from inlining it), so json_extract runs once a row. */
function values(c: ColumnRef, pipelineId: number, start: number, end: number, scan: Scan, v: RawBuilder<unknown> = valueExpr(c)): RawBuilder<unknown> {
  // The unary + keeps SQLite off the index for the dense plan: it walks the rowid range instead.
  return scan.dense
    ? sql`(SELECT ${v} AS v FROM inference_logs WHERE id BETWEEN ${scan.lo} AND ${scan.hi} AND +pipeline_id = ${pipelineId} AND +time >= ${start} AND +time < ${end} LIMIT -1)`
    : sql`(SELECT ${v} AS v FROM inference_logs WHERE pipeline_id = ${pipelineId} AND time >= ${start} AND time < ${end} LIMIT -1)`;
}

/** A numeric value or NULL (missing, null for NaN, strings). */
const numeric = sql`CASE WHEN typeof(v) IN ('integer', 'real') THEN v END`;

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

/** Bin counts and summary statistics of a numeric target over [start, end), all in one SQL pass. */
export async function numericWindow(db: DB, pipelineId: number, c: ColumnRef, edges: number[], start: number, end: number): Promise<NumericWindow> {
  const k = interiorBins(edges);
  const m = edges.length - 1;
  const whens = [sql`WHEN x IS NULL OR x < ${edges[0]} THEN 0`];
  for (let i = 1; i < m; i++) whens.push(sql`WHEN x < ${edges[i]} THEN ${i}`);
  whens.push(sql`WHEN x <= ${edges[m]} THEN ${k}`);
  const bin = sql`CASE ${sql.join(whens, sql` `)} ELSE ${k + 1} END`;
  const q = sql<{ bin: number; n: number; nx: number; s: number | null; ss: number | null; lo: number | null; hi: number | null }>`
    SELECT bin, count(*) AS n, count(x) AS nx, sum(x) AS s, sum(x * x) AS ss, min(x) AS lo, max(x) AS hi
    FROM (SELECT x, ${bin} AS bin FROM (SELECT ${numeric} AS x FROM ${values(c, pipelineId, start, end, await planScan(db, pipelineId, start, end))} LIMIT -1))
    GROUP BY bin`;
  const rows = (await q.execute(db)).rows;
  const counts = new Array(k + 2).fill(0);
  let n = 0;
  let nx = 0;
  let s = 0;
  let ss = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of rows) {
    counts[r.bin] = Number(r.n);
    n += Number(r.n);
    nx += Number(r.nx);
    s += r.s ?? 0;
    ss += r.ss ?? 0;
    if (r.lo !== null) lo = Math.min(lo, r.lo);
    if (r.hi !== null) hi = Math.max(hi, r.hi);
  }
  const mean = nx > 0 ? s / nx : null;
  const std = mean !== null ? Math.sqrt(Math.max(0, ss / nx - mean * mean)) : null;
  return { counts, summary: { count: n, nan_count: n - nx, mean, std, min: nx > 0 ? lo : null, max: nx > 0 ? hi : null } };
}

/**
 * Counts per category over [start, end): bin 0 missing, 1…K the categories, K+1 unseen. Compared
 * as text, so a profile stored with number categories still matches.
 */
export async function categoricalWindow(db: DB, pipelineId: number, c: ColumnRef, categories: (Category | number)[], start: number, end: number): Promise<number[]> {
  const whens = [sql`WHEN v IS NULL THEN 0`, ...categories.map((cat, i) => sql`WHEN v = ${String(cat)} THEN ${i + 1}`)];
  const rows = values(c, pipelineId, start, end, await planScan(db, pipelineId, start, end), categoryExpr(c));
  const q = sql<{ bin: number; n: number }>`
    SELECT bin, count(*) AS n FROM (SELECT CASE ${sql.join(whens, sql` `)} ELSE ${categories.length + 1} END AS bin FROM ${rows})
    GROUP BY bin`;
  const counts = new Array(categories.length + 2).fill(0);
  for (const r of (await q.execute(db)).rows) counts[r.bin] = Number(r.n);
  return counts;
}

/** Distinct categories and their counts (a categorical baseline from the logs); null: missing. */
export async function distinctValues(db: DB, pipelineId: number, c: ColumnRef, start: number, end: number): Promise<Map<Category | null, number>> {
  const rows = values(c, pipelineId, start, end, await planScan(db, pipelineId, start, end), categoryExpr(c));
  const q = sql<{ v: Category | null; n: number }>`SELECT v, count(*) AS n FROM ${rows} GROUP BY v LIMIT 100001`;
  const out = new Map<Category | null, number>();
  for (const r of (await q.execute(db)).rows) out.set(r.v, (out.get(r.v) ?? 0) + Number(r.n));
  return out;
}

/** Growable float64 buffer. */
export class FloatBuffer {
  private buf = new Float64Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = x;
  }
  /** The values pushed, as a view (no copy). */
  view(): Float64Array { return this.buf.subarray(0, this.length); }
}

/** Every value over [start, end) streamed into a Float64Array; NaN for missing / non-numeric. */
export async function numericValues(db: DB, pipelineId: number, c: ColumnRef, start: number, end: number): Promise<Float64Array> {
  const out = new FloatBuffer();
  const q = db.selectFrom(values(c, pipelineId, start, end, await planScan(db, pipelineId, start, end)).as('t')).select(sql<number | null>`${numeric}`.as('x'));
  const conn = sqliteOf(db);
  if (conn) {
    // One plucked number per row straight from better-sqlite3: no row objects at all.
    const { sql: text, parameters } = q.compile();
    for (const x of conn.prepare(text).pluck().iterate(...parameters) as IterableIterator<number | null>) out.push(x ?? NaN);
  } else {
    for await (const r of q.stream(10_000)) out.push(r.x ?? NaN);
  }
  return out.view();
}

/** First and last log time and the row count of a pipeline (for default preview ranges). */
export async function logSpan(db: DB, pipelineId: number): Promise<{ first: number | null; last: number | null; rows: number }> {
  const r = await db.selectFrom('inference_logs').where('pipeline_id', '=', pipelineId)
    .select((eb) => [eb.fn.min('time').as('first'), eb.fn.max('time').as('last'), eb.fn.countAll().as('rows')])
    .executeTakeFirstOrThrow();
  return { first: r.first === null ? null : Number(r.first), last: r.last === null ? null : Number(r.last), rows: Number(r.rows) };
}
