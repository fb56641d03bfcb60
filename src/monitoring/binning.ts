/**
 * Bins fixed from the baseline, so every window is compared on the same grid.
 *
 * Numeric: interior edges e₀ < e₁ < … < e_m from the baseline's quantiles (default), equal widths
 * over its range, or edges the user gives. Bin 0 holds values below e₀ and every NaN / missing /
 * non-numeric value (the leftmost bin); bins 1…m are [eᵢ₋₁, eᵢ), the last one closed [e_{m−1}, e_m];
 * bin m+1 holds values above e_m. A baseline of one distinct value gives the point bin [c, c].
 * Quantile edges that coincide (ties in the baseline) are merged, and the binning says so.
 *
 * Categorical: bin 0 holds missing values, then one bin per baseline category, then one bin for
 * values the baseline never had. A category is the value's text, whatever the source: a string
 * as it is, any other JSON value as its JSON text (0 → "0", true → "true"). So the label "0" in a
 * CSV or a values list is the same category as a logged string "0" or a logged number 0.
 * Categories sort numbers first (by value), then the other strings.
 */
import { fail } from '../errors/index.ts';
import type { Ranked } from './selection.ts';

export type BinMode = 'quantile' | 'equal_width' | 'provided';
export const BIN_MODES: BinMode[] = ['quantile', 'equal_width', 'provided'];
export const DEFAULT_BINS = 5;
export const MAX_BINS = 1000;
/** A baseline needs at least this many non-NaN values per requested bin. */
export const MIN_POINTS_PER_BIN = 2;
export const MAX_CATEGORIES = 1000;

export interface NumericBinning {
  kind: 'numeric';
  mode: BinMode;
  /** What was asked for (for provided edges: their count − 1). */
  requested_bins: number;
  /** Interior edges actually used, strictly increasing. */
  edges: number[];
  /** One per bin, outlier bins included: "<e0", "[e0, e1)", …, ">e_m". */
  labels: string[];
  /** Set when quantile edges coincided and were merged, so fewer bins are used than asked. */
  note?: string;
}

/** A category's text. Profiles stored before categories were text may still hold numbers. */
export type Category = string;

export interface CategoricalBinning {
  kind: 'categorical';
  categories: Category[];
  labels: string[];
}

export type Binning = NumericBinning | CategoricalBinning;

/** Bins in total, the outlier / missing / unseen bins included. */
export const binCount = (b: Binning): number => b.labels.length;

/** Interior bins of a numeric binning (a single edge makes one point bin). */
export const interiorBins = (edges: number[]): number => Math.max(edges.length - 1, 1);

/** numpy's default quantile ('linear', type 7), bit for bit: index q·(n−1), then its lerp. */
export function quantileSorted(sorted: Ranked, q: number): number {
  const n = sorted.length;
  const idx = (n - 1) * q;
  if (idx >= n - 1) return sorted.at(n - 1)!;
  if (idx <= 0) return sorted.at(0)!;
  const lo = Math.floor(idx);
  const t = idx - lo;
  const a = sorted.at(lo)!;
  const b = sorted.at(lo + 1)!;
  const diff = b - a;
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** i/k for i = 0…k as numpy's linspace(0, 1, k + 1) computes it (the last one exactly 1). */
const linspace = (start: number, stop: number, k: number) =>
  Array.from({ length: k + 1 }, (_, i) => (i === k ? stop : start + i * ((stop - start) / k)));

const fmt = (x: number) => String(Number(x.toPrecision(6)));

function numericLabels(edges: number[]): string[] {
  const k = interiorBins(edges);
  const labels = [`<${fmt(edges[0])} or NaN`];
  if (edges.length === 1) labels.push(`[${fmt(edges[0])}, ${fmt(edges[0])}]`);
  for (let i = 1; i < edges.length; i++) labels.push(`[${fmt(edges[i - 1])}, ${fmt(edges[i])}${i === k ? ']' : ')'}`);
  labels.push(`>${fmt(edges.at(-1)!)}`);
  return labels;
}

export function checkBinCount(bins: unknown): number {
  if (!Number.isInteger(bins) || (bins as number) < 1 || (bins as number) > MAX_BINS) {
    fail('INVALID_ASSAY', `'binning.bins' must be an integer in [1, ${MAX_BINS}], got ${JSON.stringify(bins)}`);
  }
  return bins as number;
}

export function checkEdges(edges: unknown): number[] {
  if (!Array.isArray(edges) || edges.length < 2) {
    return fail('INVALID_BIN_EDGES', `'binning.edges' must be a list of at least 2 increasing numbers`);
  }
  for (let i = 0; i < edges.length; i++) {
    if (typeof edges[i] !== 'number' || !Number.isFinite(edges[i])) fail('INVALID_BIN_EDGES', `'binning.edges[${i}]' must be a finite number, got ${JSON.stringify(edges[i])}`);
    if (i > 0 && !(edges[i] > edges[i - 1])) {
      fail('INVALID_BIN_EDGES', `'binning.edges' must be strictly increasing: edges[${i - 1}] = ${edges[i - 1]} is not below edges[${i}] = ${edges[i]}`);
    }
  }
  if (edges.length - 1 > MAX_BINS) fail('INVALID_BIN_EDGES', `'binning.edges' makes ${edges.length - 1} bins; at most ${MAX_BINS}`);
  return edges as number[];
}

function checkBaselineSize(n: number, bins: number): void {
  const need = bins * MIN_POINTS_PER_BIN;
  if (n < need) {
    fail('BASELINE_TOO_SMALL', `the baseline has ${n} numeric value(s); ${bins} bins need at least ${need} (${MIN_POINTS_PER_BIN} per bin)`);
  }
}

/** Edges from a NaN-free baseline sample, read by rank (sorted, or a Selection). Refuses a baseline too small for the bins asked. */
export function numericBinning(sorted: Ranked, mode: BinMode, bins: number | undefined, provided?: number[]): NumericBinning {
  if (mode === 'provided') {
    const edges = checkEdges(provided);
    if (bins !== undefined && bins !== edges.length - 1) {
      fail('INVALID_BIN_EDGES', `'binning.bins' is ${bins} but the ${edges.length} edges given make ${edges.length - 1} bins; give one or the other`);
    }
    checkBaselineSize(sorted.length, edges.length - 1);
    return { kind: 'numeric', mode, requested_bins: edges.length - 1, edges: [...edges], labels: numericLabels(edges) };
  }
  if (provided !== undefined) fail('INVALID_BIN_EDGES', `'binning.edges' is only for mode 'provided', not '${mode}'`);
  const k = checkBinCount(bins ?? DEFAULT_BINS);
  checkBaselineSize(sorted.length, k);
  const min = sorted.at(0)!;
  const max = sorted.at(sorted.length - 1)!;
  const raw = mode === 'quantile' ? linspace(0, 1, k).map((q) => quantileSorted(sorted, q)) : linspace(min, max, k);
  const edges = raw.filter((e, i) => i === 0 || e > raw[i - 1]);
  const b: NumericBinning = { kind: 'numeric', mode, requested_bins: k, edges, labels: numericLabels(edges) };
  if (interiorBins(edges) < k) {
    b.note = min === max
      ? `every baseline value is ${min}: one point bin [${min}, ${min}] between the outlier bins`
      : `${k} ${mode === 'quantile' ? 'quantile' : 'equal-width'} bins asked, ${interiorBins(edges)} used: ties in the baseline make some edges coincide`;
  }
  return b;
}

/** The bin of one value; mirrors the SQL CASE in source.ts exactly. */
export function numericBinIndex(edges: number[], v: number): number {
  const m = edges.length - 1;
  if (Number.isNaN(v) || v < edges[0]) return 0;
  if (v > edges[m]) return interiorBins(edges) + 1;
  if (v === edges[m]) return interiorBins(edges);
  // largest i with edges[i] <= v, i < m
  let lo = 0;
  let hi = m; // edges[lo] <= v < edges[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (edges[mid] <= v) lo = mid;
    else hi = mid;
  }
  return lo + 1;
}

export function numericHistogram(edges: number[], values: ArrayLike<number>): number[] {
  const counts = new Array(interiorBins(edges) + 2).fill(0);
  for (let i = 0; i < values.length; i++) counts[numericBinIndex(edges, values[i])]++;
  return counts;
}

const JSON_NUMBER = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/** Sorts categories: those that are numbers ascending by value, then the rest by code unit. */
export function byCategory(a: Category, b: Category): number {
  const na = JSON_NUMBER.test(a);
  const nb = JSON_NUMBER.test(b);
  if (na !== nb) return na ? -1 : 1;
  if (na && Number(a) !== Number(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

export function categoricalBinning(categories: Iterable<Category>): CategoricalBinning {
  const cats = [...new Set(categories)].sort(byCategory);
  if (cats.length === 0) fail('BASELINE_TOO_SMALL', 'the baseline has no values to take categories from');
  if (cats.length > MAX_CATEGORIES) fail('INVALID_ASSAY', `the baseline has ${cats.length} distinct values; a categorical assay takes at most ${MAX_CATEGORIES}`);
  return { kind: 'categorical', categories: cats, labels: ['(missing)', ...cats, '(unseen)'] };
}

/** A JSON value as a category: its text (mirrors `categoryText` in source.ts); null and NaN are missing. */
export function asCategory(v: unknown): Category | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isNaN(v) ? null : JSON.stringify(v);
  return JSON.stringify(v);
}

export function categoricalHistogram(b: CategoricalBinning, values: Iterable<unknown>): number[] {
  const pos = new Map<Category, number>(b.categories.map((c, i) => [String(c), i + 1]));
  const counts = new Array(b.categories.length + 2).fill(0);
  for (const v of values) {
    const c = asCategory(v);
    counts[c === null ? 0 : (pos.get(c) ?? b.categories.length + 1)]++;
  }
  return counts;
}
