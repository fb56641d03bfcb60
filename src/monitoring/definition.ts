/**
 * An assay definition as users write it (REST, CLI, SDK), and its checked, resolved form with
 * every default filled in: times as epoch ms, durations in ms, thresholds for the metric.
 */
import { fail } from '../errors/index.ts';
import { parseDuration, parseTime } from '../time/index.ts';
import { BIN_MODES, type BinMode, DEFAULT_BINS, checkBinCount, checkEdges } from './binning.ts';
import { DEFAULT_EPSILON } from './metrics.ts';

export type Metric = 'psi' | 'maxdiff' | 'sumdiff' | 'jensenshannon' | 'chisquare' | 'ks' | 'wasserstein';
export const METRICS: Metric[] = ['psi', 'maxdiff', 'sumdiff', 'jensenshannon', 'chisquare', 'ks', 'wasserstein'];
/** Metrics over the raw samples rather than the bins; numeric targets only. */
export const SAMPLE_METRICS: Metric[] = ['ks', 'wasserstein'];
/** Metrics whose status comes from a p-value: a window is in alert when p < the alert level. */
export const PVALUE_METRICS: Metric[] = ['ks', 'chisquare'];

export type TargetKind = 'numeric' | 'categorical';
export type TimeLike = number | string;
export type Duration = number | string;

export interface Target {
  /** `in.<input>` or `out.<output>` of the pipeline. */
  column: string;
  /** For tensor columns: the element, e.g. 1 for `probabilities[1]`, or [i, j] for deeper rows. */
  index?: number | number[];
  /** numeric (default) or categorical (labels, strings). */
  kind?: TargetKind;
}

export type BaselineSpec =
  /** A time range of the pipeline's own inference logs. */
  | { start: TimeLike; end: TimeLike }
  /** A static sample: numbers (null for NaN), or category values. */
  | { values: (number | string | boolean | null)[] }
  /** A column of an uploaded CSV, JSON (records or {column: [...]}) or JSON Lines file. */
  | { file: { content: string; format?: 'csv' | 'json' | 'jsonl'; column: string; index?: number } };

export interface AssayDefinition {
  pipeline: string;
  target: Target;
  baseline: BaselineSpec;
  window: { width: Duration; interval?: Duration; start?: TimeLike };
  binning?: { mode?: BinMode; bins?: number; edges?: number[] };
  metric?: Metric;
  thresholds?: { warning?: number; alert?: number };
  /** Proportion empty bins take in PSI (default 1e-4). */
  epsilon?: number;
  /** Saved assays only: POST a JSON payload here when a window is in alert (or warning too). */
  alert?: { webhook: string; on?: 'alert' | 'warning' };
}

export interface Thresholds {
  warning: number | null;
  alert: number;
  /** 'above': a score at or above the level (distances); 'below': a p-value under it (tests). */
  direction: 'above' | 'below';
}

export interface ResolvedDefinition {
  pipeline: string;
  target: { column: string; index: number[] | null; kind: TargetKind };
  baseline: { kind: 'logs'; start: number; end: number } | { kind: 'values' | 'file'; count: number; column?: string };
  window: { width: number; interval: number; start: number };
  binning: { mode: BinMode; bins: number | null; edges: number[] | null };
  metric: Metric;
  thresholds: Thresholds;
  epsilon: number;
  alert: { webhook: string; on: 'alert' | 'warning' } | null;
}

/** Defaults per metric: PSI's 0.1 / 0.25 rule of thumb; p-value levels for the tests. */
const DEFAULT_THRESHOLDS: Record<Metric, { warning: number | null; alert: number } | null> = {
  psi: { warning: 0.1, alert: 0.25 },
  maxdiff: { warning: 0.1, alert: 0.2 },
  sumdiff: { warning: 0.1, alert: 0.2 },
  jensenshannon: { warning: 0.1, alert: 0.2 },
  ks: { warning: 0.1, alert: 0.05 },
  chisquare: { warning: 0.1, alert: 0.05 },
  wasserstein: null, // in the target's own units: the user says what is too far
};

function resolveThresholds(metric: Metric, given: AssayDefinition['thresholds']): Thresholds {
  const direction = PVALUE_METRICS.includes(metric) ? 'below' : 'above';
  const dflt = DEFAULT_THRESHOLDS[metric];
  const alert = given?.alert ?? dflt?.alert;
  if (alert === undefined) {
    return fail('INVALID_THRESHOLDS', `metric '${metric}' has no default thresholds (it is in the target's units): give 'thresholds.alert'`);
  }
  const warning = given?.warning ?? (given?.alert === undefined ? dflt?.warning ?? null : null);
  for (const [k, v] of [['alert', alert], ['warning', warning]] as const) {
    if (v === null) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail('INVALID_THRESHOLDS', `'thresholds.${k}' must be a number ≥ 0, got ${JSON.stringify(v)}`);
    if (direction === 'below' && (v <= 0 || v > 1)) fail('INVALID_THRESHOLDS', `'thresholds.${k}' is a p-value level for '${metric}': it must be in (0, 1], got ${v}`);
    if ((metric === 'sumdiff' || metric === 'maxdiff' || metric === 'jensenshannon') && v > 1) {
      fail('INVALID_THRESHOLDS', `'thresholds.${k}' must be at most 1 for '${metric}', which lies in [0, 1]; got ${v}`);
    }
  }
  if (warning !== null) {
    if (direction === 'above' && !(warning < alert)) fail('INVALID_THRESHOLDS', `'thresholds.warning' (${warning}) must be below 'thresholds.alert' (${alert})`);
    if (direction === 'below' && !(warning > alert)) {
      fail('INVALID_THRESHOLDS', `for '${metric}' the levels are p-values: 'thresholds.warning' (${warning}) must be above 'thresholds.alert' (${alert})`);
    }
  }
  return { warning, alert, direction };
}

function resolveIndex(index: unknown): number[] | null {
  if (index === undefined || index === null) return null;
  const idx = Array.isArray(index) ? index : [index];
  if (idx.length === 0 || !idx.every((i) => Number.isInteger(i) && i >= 0)) {
    fail('INVALID_ASSAY', `'target.index' must be a non-negative integer (or a list of them), got ${JSON.stringify(index)}`);
  }
  return idx as number[];
}

/**
 * Checks everything that needs no data: shapes, ranges, durations, thresholds, the webhook URL.
 * The pipeline, the column and the baseline's size are checked against the store later.
 */
export function resolveDefinition(d: AssayDefinition, now: number): ResolvedDefinition {
  if (!d || typeof d !== 'object') fail('INVALID_ASSAY', 'an assay definition must be a JSON object');
  if (typeof d.pipeline !== 'string' || d.pipeline === '') fail('INVALID_ASSAY', `'pipeline' must name a pipeline`);
  if (!d.target || typeof d.target.column !== 'string') fail('INVALID_ASSAY', `'target.column' must be 'in.<input>' or 'out.<output>'`);
  const metric = d.metric ?? 'psi';
  if (!METRICS.includes(metric)) fail('INVALID_ASSAY', `'metric' must be one of ${METRICS.join(', ')}; got ${JSON.stringify(metric)}`);
  const kind: TargetKind = d.target.kind ?? (metric === 'chisquare' ? 'categorical' : 'numeric');
  if (kind !== 'numeric' && kind !== 'categorical') fail('INVALID_ASSAY', `'target.kind' must be 'numeric' or 'categorical'`);
  if (kind === 'categorical' && SAMPLE_METRICS.includes(metric)) fail('INVALID_ASSAY', `metric '${metric}' needs a numeric target; '${d.target.column}' is categorical here`);

  const mode = d.binning?.mode ?? (d.binning?.edges ? 'provided' : 'quantile');
  if (!BIN_MODES.includes(mode)) fail('INVALID_ASSAY', `'binning.mode' must be one of ${BIN_MODES.join(', ')}; got ${JSON.stringify(mode)}`);
  const edges = mode === 'provided' ? checkEdges(d.binning?.edges) : null;
  if (mode !== 'provided' && d.binning?.edges !== undefined) fail('INVALID_BIN_EDGES', `'binning.edges' is only for mode 'provided', not '${mode}'`);
  const bins = d.binning?.bins === undefined ? null : checkBinCount(d.binning.bins);
  if (edges && bins !== null && bins !== edges.length - 1) {
    fail('INVALID_BIN_EDGES', `'binning.bins' is ${bins} but the ${edges.length} edges given make ${edges.length - 1} bins; give one or the other`);
  }
  if (kind === 'categorical' && (d.binning?.edges || d.binning?.mode || d.binning?.bins)) {
    fail('INVALID_ASSAY', `a categorical target takes its bins from the baseline's categories; leave 'binning' out`);
  }

  if (!d.window) fail('INVALID_ASSAY', `'window.width' is required (e.g. "24h")`);
  const width = parseDuration(d.window.width, 'window.width', 'INVALID_ASSAY');
  const interval = d.window.interval === undefined ? width : parseDuration(d.window.interval, 'window.interval', 'INVALID_ASSAY');
  const start = d.window.start === undefined ? now : parseTime(d.window.start, 'window.start', 'INVALID_ASSAY');

  const epsilon = d.epsilon ?? DEFAULT_EPSILON;
  if (typeof epsilon !== 'number' || !(epsilon > 0 && epsilon < 0.5)) fail('INVALID_ASSAY', `'epsilon' must be a number in (0, 0.5), got ${JSON.stringify(epsilon)}`);

  let baseline: ResolvedDefinition['baseline'];
  const b = d.baseline as Record<string, unknown> | undefined;
  if (!b || typeof b !== 'object') return fail('INVALID_ASSAY', `'baseline' is required: {start, end} of the pipeline's logs, {values: [...]}, or {file: {content, column}}`);
  const forms = ['values', 'file', 'start'].filter((k) => k in b);
  if (forms.length !== 1) fail('INVALID_ASSAY', `'baseline' must be exactly one of {start, end}, {values}, {file}`);
  if ('start' in b) {
    const s = parseTime(b.start, 'baseline.start', 'INVALID_ASSAY');
    const e = parseTime(b.end, 'baseline.end', 'INVALID_ASSAY');
    if (!(e > s)) fail('INVALID_ASSAY', `'baseline.end' must be after 'baseline.start'`);
    baseline = { kind: 'logs', start: s, end: e };
  } else if ('values' in b) {
    if (!Array.isArray(b.values)) fail('INVALID_ASSAY', `'baseline.values' must be a list`);
    baseline = { kind: 'values', count: (b.values as unknown[]).length };
  } else {
    const f = b.file as Record<string, unknown>;
    if (!f || typeof f.content !== 'string' || typeof f.column !== 'string') fail('INVALID_ASSAY', `'baseline.file' needs 'content' (the file's text) and 'column'`);
    if (f.format !== undefined && !['csv', 'json', 'jsonl'].includes(f.format as string)) fail('INVALID_ASSAY', `'baseline.file.format' must be csv, json or jsonl`);
    baseline = { kind: 'file', count: 0, column: f.column as string };
  }

  let alert: ResolvedDefinition['alert'] = null;
  if (d.alert) {
    let url: URL | undefined;
    try { url = new URL(d.alert.webhook); } catch { /* below */ }
    if (!url || !['http:', 'https:'].includes(url.protocol)) fail('INVALID_ASSAY', `'alert.webhook' must be an http(s) URL, got ${JSON.stringify(d.alert.webhook)}`);
    const on = d.alert.on ?? 'alert';
    if (on !== 'alert' && on !== 'warning') fail('INVALID_ASSAY', `'alert.on' must be 'alert' or 'warning'`);
    alert = { webhook: url!.toString(), on };
  }

  return {
    pipeline: d.pipeline,
    target: { column: d.target.column, index: resolveIndex(d.target.index), kind },
    baseline,
    window: { width, interval, start },
    binning: { mode, bins: kind === 'numeric' ? (edges ? edges.length - 1 : bins ?? DEFAULT_BINS) : null, edges },
    metric,
    thresholds: resolveThresholds(metric, d.thresholds),
    epsilon,
    alert,
  };
}

export type Status = 'ok' | 'warning' | 'alert' | 'no_data';

/** ok / warning / alert from a score (distances) or a p-value (tests). */
export function statusOf(t: Thresholds, value: number | null): Status {
  if (value === null || Number.isNaN(value)) return 'no_data';
  if (t.direction === 'above') return value >= t.alert ? 'alert' : t.warning !== null && value >= t.warning ? 'warning' : 'ok';
  return value < t.alert ? 'alert' : t.warning !== null && value < t.warning ? 'warning' : 'ok';
}
