/**
 * The baseline, summarized once into a stored profile: its binning (edges or categories), counts,
 * proportions and summary statistics. Windows are compared against the profile; the baseline
 * itself is never re-read. Numeric baselines also keep their sorted values (float64) for the
 * sample metrics (KS, Wasserstein).
 */
import { parse } from 'csv-parse/sync';
import { BettongError, fail } from '../errors/index.ts';
import {
  type Binning, type Category, asCategory, categoricalBinning, categoricalHistogram, numericBinning, numericHistogram, quantileSorted,
} from './binning.ts';
import { type ResolvedDefinition, SAMPLE_METRICS, type TargetKind } from './definition.ts';
import { proportions } from './metrics.ts';
import { type Ranked, Selection, withoutNaN } from './selection.ts';
import type { NumericSummary } from './source.ts';

export interface CategoricalSummary {
  count: number;
  missing_count: number;
  categories: number;
}

export interface BaselineProfile {
  kind: TargetKind;
  source: 'logs' | 'values' | 'file';
  binning: Binning;
  counts: number[];
  proportions: number[];
  summary: NumericSummary | CategoricalSummary;
}

/** Summary statistics of a NaN-free sample (population std, ddof 0), its ranks read from `ranked`. */
export function summarize(sample: Float64Array, ranked: Ranked, nanCount: number): NumericSummary {
  const n = sample.length;
  if (n === 0) return { count: nanCount, nan_count: nanCount, mean: null, std: null, min: null, max: null, median: null };
  let s = 0;
  for (let i = 0; i < n; i++) s += sample[i];
  const mean = s / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sample[i] - mean) ** 2;
  return {
    count: n + nanCount, nan_count: nanCount, mean, std: Math.sqrt(ss / n), min: ranked.at(0)!, max: ranked.at(n - 1)!, median: quantileSorted(ranked, 0.5),
  };
}

/**
 * A numeric profile from every baseline value (NaN for missing). The sorted finite sample comes
 * back only for the metrics that keep it (KS, Wasserstein; else empty): the others need just a few
 * ranks (edges, min, max, median), which selection finds without sorting.
 */
export function numericProfile(values: Float64Array, d: ResolvedDefinition, source: BaselineProfile['source']): { profile: BaselineProfile; sample: Float64Array } {
  const finite = withoutNaN(values);
  const keep = SAMPLE_METRICS.includes(d.metric);
  const ranked: Ranked = keep ? finite.sort() : new Selection(finite);
  const binning = numericBinning(ranked, d.binning.mode, d.binning.mode === 'provided' ? undefined : d.binning.bins ?? undefined, d.binning.edges ?? undefined);
  const counts = numericHistogram(binning.edges, values);
  return {
    profile: { kind: 'numeric', source, binning, counts, proportions: proportions(counts), summary: summarize(finite, ranked, values.length - finite.length) },
    sample: keep ? finite : new Float64Array(0),
  };
}

/** A categorical profile from value counts (null: missing). */
export function categoricalProfile(counts: Map<Category | null, number>, source: BaselineProfile['source']): BaselineProfile {
  const binning = categoricalBinning([...counts.keys()].filter((k): k is Category => k !== null));
  const binCounts = categoricalHistogram(binning, []);
  const pos = new Map(binning.categories.map((c, i) => [c, i + 1]));
  let total = 0;
  for (const [v, n] of counts) {
    binCounts[v === null ? 0 : pos.get(v)!] += n;
    total += n;
  }
  return {
    kind: 'categorical', source, binning, counts: binCounts, proportions: proportions(binCounts),
    summary: { count: total, missing_count: binCounts[0], categories: binning.categories.length },
  };
}

/**
 * A CSV cell: text, as the file has it (a numeric target reads numbers from it, a categorical one
 * takes it as the category); an empty cell is missing; a cell holding a list ("[0.1, 0.9]", a
 * tensor column written by pandas) is parsed when an element is picked from it.
 */
function csvCell(v: unknown, index: number | undefined): unknown {
  if (typeof v !== 'string') return v;
  const s = v.trim();
  if (s === '') return null;
  if (index !== undefined && s.startsWith('[')) {
    try { return JSON.parse(s); } catch { return v; }
  }
  return s;
}

function pick(v: unknown, index: number | undefined, where: string): unknown {
  if (index === undefined) return v;
  if (!Array.isArray(v)) return fail('INVALID_ASSAY', `${where} is not a list, so 'index' ${index} cannot be taken from it`);
  return v[index] ?? null;
}

function guessFormat(content: string): 'csv' | 'json' | 'jsonl' {
  const t = content.trim();
  if (t.startsWith('[')) return 'json';
  if (!t.startsWith('{')) return 'csv';
  try { JSON.parse(t); return 'json'; } catch { return 'jsonl'; }
}

/**
 * The values of a static baseline: a list, or a column of an uploaded CSV / JSON / JSON Lines file.
 * JSON values keep their JSON types and CSV cells stay text: `asNumbers` / `asCategoryCounts` read
 * them for the target's kind, so a label "0" is never turned into the number 0.
 */
export function staticValues(baseline: { values?: unknown[]; file?: { content: string; format?: string; column: string; index?: number } }): unknown[] {
  if (baseline.values) return baseline.values;
  const f = baseline.file!;
  const format = f.format ?? guessFormat(f.content);
  let records: Record<string, unknown>[];
  try {
    if (format === 'csv') records = parse(f.content, { columns: true, skip_empty_lines: true, trim: true });
    else if (format === 'jsonl') records = f.content.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
    else {
      const body = JSON.parse(f.content);
      if (!Array.isArray(body) && body && typeof body === 'object') {
        // {column: [values]} (pandas orient="list")
        if (!(f.column in body)) fail('UNKNOWN_COLUMN', `the baseline file has no column '${f.column}'; its columns: ${Object.keys(body).join(', ')}`);
        const col = body[f.column];
        if (!Array.isArray(col)) fail('INVALID_ASSAY', `column '${f.column}' of the baseline file is not a list`);
        return (col as unknown[]).map((v, i) => pick(v, f.index, `row ${i} of '${f.column}'`));
      }
      records = body;
    }
  } catch (e) {
    if (e instanceof BettongError) throw e;
    return fail('INVALID_ASSAY', `the baseline file cannot be read as ${format}: ${(e as Error).message}`);
  }
  if (!Array.isArray(records) || records.length === 0) fail('BASELINE_TOO_SMALL', 'the baseline file has no rows');
  if (!records.some((r) => r && typeof r === 'object' && f.column in r)) {
    const cols = records[0] && typeof records[0] === 'object' ? Object.keys(records[0]).join(', ') : '(none)';
    fail('UNKNOWN_COLUMN', `the baseline file has no column '${f.column}'; its columns: ${cols}`);
  }
  const read = format === 'csv' ? (v: unknown) => csvCell(v, f.index) : (v: unknown) => v;
  return records.map((r, i) => pick(read(r?.[f.column] ?? null), f.index, `row ${i} of '${f.column}'`));
}

/** A static value as a number, as SQL reads a logged one: booleans 1 / 0, numeric text its number; anything else NaN. */
function asNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string' && v.trim() !== '') return Number(v);
  return NaN;
}

/** Static values as numbers: null, NaN and non-numbers become NaN. */
export const asNumbers = (values: unknown[]): Float64Array => Float64Array.from(values, asNumber);

/** Static values as category counts. */
export function asCategoryCounts(values: unknown[]): Map<Category | null, number> {
  const out = new Map<Category | null, number>();
  for (const v of values) {
    const c = asCategory(v);
    out.set(c, (out.get(c) ?? 0) + 1);
  }
  return out;
}

export const sampleToBlob = (sorted: Float64Array): Buffer => Buffer.from(sorted.buffer, sorted.byteOffset, sorted.byteLength);

export function blobToSample(buf: Buffer | Uint8Array | null): Float64Array {
  if (!buf) return new Float64Array(0);
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return new Float64Array(copy.buffer);
}
