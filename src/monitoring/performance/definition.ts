/**
 * A performance monitor as users write it, and its checked form. It joins a pipeline's logged
 * predictions to ground-truth labels by key, per window of the same grid assays use, and judges
 * one metric against thresholds: for metrics where higher is better (accuracy, F1, ROC AUC, R²) a
 * window is in alert below the level, for errors and losses at or above it.
 */
import { fail } from '../../errors/index.ts';
import { parseDuration, parseTime } from '../../time/index.ts';
import type { Status, Thresholds } from '../definition.ts';
import type { Duration, TimeLike } from '../definition.ts';
import { type KeySpec, checkKeySpec } from './keys.ts';
import { CLASSIFICATION_METRICS, LOWER_IS_BETTER, type PerformanceMetric, REGRESSION_METRICS } from './metrics.ts';

export type Task = 'classification' | 'regression';

export interface MonitorDefinition {
  pipeline: string;
  task: Task;
  /** How labels find predictions: 'request_id' (default) or 'metadata.<field>'. */
  key?: string;
  /** The label column of the uploaded feedback. */
  label: string;
  /** The logged prediction: `out.<output>` (or `in.<input>`), with an element index for tensors. */
  prediction: { column: string; index?: number | number[] };
  /** Classification: the logged class probabilities (one tensor per row), for ROC AUC, log loss, Brier and CBPE. */
  probabilities?: { column: string };
  /** The classes the probability columns are for, in order (default 0, 1, …). */
  classes?: (string | number | boolean)[];
  /** The positive class of the binary metrics (default: the second class, or 1). */
  positive?: string | number | boolean;
  metric?: PerformanceMetric;
  thresholds?: { warning?: number; alert?: number };
  window: { width: Duration; interval?: Duration; start?: TimeLike };
  /** A window stays pending until this share of its predictions has labels (default 0.8) or max_delay after it ends (default 7d). */
  coverage?: { min?: number; max_delay?: Duration };
  /** A labelled period of the logs that CBPE calibrates on (binary classifiers with probabilities). */
  reference?: { start: TimeLike; end: TimeLike };
  alert?: { webhook: string; on?: 'alert' | 'warning' };
}

export interface ResolvedMonitor {
  pipeline: string;
  task: Task;
  key: KeySpec;
  label: string;
  prediction: { column: string; index: number[] | null };
  probabilities: { column: string } | null;
  classes: string[] | null;
  positive: string;
  metric: PerformanceMetric;
  thresholds: Thresholds | null;
  window: { width: number; interval: number; start: number };
  coverage: { min: number; max_delay: number };
  reference: { start: number; end: number } | null;
  alert: { webhook: string; on: 'alert' | 'warning' } | null;
}

const DEFAULT_COVERAGE = 0.8;
const DEFAULT_MAX_DELAY = 7 * 24 * 3600_000;

const bad = (msg: string): never => fail('INVALID_MONITOR', msg);

function thresholdsFor(metric: PerformanceMetric, t: MonitorDefinition['thresholds']): Thresholds | null {
  if (!t || (t.alert === undefined && t.warning === undefined)) return null;
  if (t.alert === undefined) return bad(`'thresholds.alert' is required when 'thresholds.warning' is given`);
  for (const [k, v] of [['alert', t.alert], ['warning', t.warning]] as const) {
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v))) bad(`'thresholds.${k}' must be a number, got ${JSON.stringify(v)}`);
  }
  // 'above': values at or above the level are bad (errors); 'below': values under it are (scores).
  const direction = LOWER_IS_BETTER.includes(metric) ? 'above' : 'below';
  const warning = t.warning ?? null;
  if (warning !== null && (direction === 'above' ? !(warning < t.alert) : !(warning > t.alert))) {
    bad(`for '${metric}' ('${direction === 'above' ? 'lower' : 'higher'} is better') 'thresholds.warning' (${warning}) must be ${direction === 'above' ? 'below' : 'above'} 'thresholds.alert' (${t.alert})`);
  }
  return { warning, alert: t.alert, direction };
}

export function resolveMonitor(d: MonitorDefinition, now: number): ResolvedMonitor {
  if (!d || typeof d !== 'object') bad('a monitor definition must be a JSON object');
  if (typeof d.pipeline !== 'string' || d.pipeline === '') bad(`'pipeline' must name a pipeline`);
  if (d.task !== 'classification' && d.task !== 'regression') bad(`'task' must be 'classification' or 'regression', got ${JSON.stringify(d.task)}`);
  if (typeof d.label !== 'string' || d.label === '') bad(`'label' must name the label column of the feedback`);
  if (!d.prediction || typeof d.prediction.column !== 'string' || !/^(in|out)\..+/.test(d.prediction.column)) bad(`'prediction.column' must be 'out.<output>' (or 'in.<input>')`);
  const idx = d.prediction.index;
  const index = idx === undefined ? null : Array.isArray(idx) ? idx : [idx];
  if (index && !index.every((i) => Number.isInteger(i) && i >= 0)) bad(`'prediction.index' must be a non-negative integer or a list of them`);
  const metrics: readonly string[] = d.task === 'classification' ? CLASSIFICATION_METRICS : REGRESSION_METRICS;
  const metric = d.metric ?? (d.task === 'classification' ? 'accuracy' : 'rmse');
  if (!metrics.includes(metric)) bad(`'metric' for ${d.task} must be one of ${metrics.join(', ')}; got ${JSON.stringify(metric)}`);
  let probabilities: ResolvedMonitor['probabilities'] = null;
  if (d.probabilities !== undefined) {
    if (d.task !== 'classification') bad(`'probabilities' is for classification monitors`);
    if (typeof d.probabilities?.column !== 'string' || !/^out\..+/.test(d.probabilities.column)) bad(`'probabilities.column' must be 'out.<output>'`);
    probabilities = { column: d.probabilities.column };
  }
  if (['roc_auc', 'log_loss', 'brier'].includes(metric) && !probabilities) bad(`metric '${metric}' needs 'probabilities' (the logged class probabilities)`);
  if (d.classes !== undefined && (!Array.isArray(d.classes) || d.classes.length < 2)) bad(`'classes' must list at least two classes`);
  const classes = d.classes ? d.classes.map(String) : probabilities ? null : null;
  const positive = d.positive !== undefined ? String(d.positive) : classes ? classes[1] : '1';
  if (classes && !classes.includes(positive)) bad(`'positive' (${positive}) is not one of 'classes'`);

  if (!d.window) bad(`'window.width' is required (e.g. "1d")`);
  const width = parseDuration(d.window.width, 'window.width', 'INVALID_MONITOR');
  const interval = d.window.interval === undefined ? width : parseDuration(d.window.interval, 'window.interval', 'INVALID_MONITOR');
  const start = d.window.start === undefined ? now : parseTime(d.window.start, 'window.start', 'INVALID_MONITOR');
  const min = d.coverage?.min ?? DEFAULT_COVERAGE;
  if (typeof min !== 'number' || !(min >= 0 && min <= 1)) bad(`'coverage.min' must be a share in [0, 1], got ${JSON.stringify(min)}`);
  const maxDelay = d.coverage?.max_delay === undefined ? DEFAULT_MAX_DELAY : parseDuration(d.coverage.max_delay, 'coverage.max_delay', 'INVALID_MONITOR');

  let reference: ResolvedMonitor['reference'] = null;
  if (d.reference) {
    if (!probabilities) bad(`'reference' calibrates CBPE, which needs 'probabilities'`);
    const s = parseTime(d.reference.start, 'reference.start', 'INVALID_MONITOR');
    const e = parseTime(d.reference.end, 'reference.end', 'INVALID_MONITOR');
    if (!(e > s)) bad(`'reference.end' must be after 'reference.start'`);
    reference = { start: s, end: e };
  }
  let alert: ResolvedMonitor['alert'] = null;
  if (d.alert) {
    let url: URL | undefined;
    try { url = new URL(d.alert.webhook); } catch { /* below */ }
    if (!url || !['http:', 'https:'].includes(url.protocol)) bad(`'alert.webhook' must be an http(s) URL, got ${JSON.stringify(d.alert.webhook)}`);
    const on = d.alert.on ?? 'alert';
    if (on !== 'alert' && on !== 'warning') bad(`'alert.on' must be 'alert' or 'warning'`);
    alert = { webhook: url!.toString(), on };
  }
  const thresholds = thresholdsFor(metric as PerformanceMetric, d.thresholds);
  if (alert && !thresholds) bad(`'alert' needs 'thresholds' to judge windows by`);
  return {
    pipeline: d.pipeline, task: d.task, key: checkKeySpec(d.key, 'INVALID_MONITOR'), label: d.label, prediction: { column: d.prediction.column, index },
    probabilities, classes, positive, metric: metric as PerformanceMetric, thresholds,
    window: { width, interval, start }, coverage: { min, max_delay: maxDelay }, reference, alert,
  };
}

export type WindowState = 'final' | 'pending';
export type { Status };
