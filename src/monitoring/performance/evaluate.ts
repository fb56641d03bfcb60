/**
 * One window of a performance monitor from its joined rows: label coverage, whether the window is
 * still pending (coverage under the minimum and its maximum delay not passed), the realised
 * metrics over the labelled rows (overall, per A/B arm, per shadow challenger), the CBPE estimate
 * over every row when the monitor has a calibration, and the statuses judged on both.
 */
import { type Status, statusOf } from '../definition.ts';
import type { Window } from '../windows.ts';
import { type Calibration, type EstimatedMetric, type Estimate, ESTIMATED_METRICS, estimate } from './cbpe.ts';
import type { ResolvedMonitor, WindowState } from './definition.ts';
import type { JoinedRow, Prediction } from './joined.ts';
import { type ClassificationResult, type RegressionResult, classificationMetrics, regressionMetrics } from './metrics.ts';

export interface Realised {
  /** Rows logged (predictions). */
  count: number;
  /** Rows with a label. */
  labelled: number;
  /** labelled / count (null without predictions). */
  coverage: number | null;
  /** The monitor's metric over the labelled rows. */
  value: number | null;
  metrics: Record<string, number | null>;
  confusion_matrix?: ClassificationResult['confusion_matrix'];
}

export interface PerformanceWindow extends Realised {
  window: Window;
  metric: string;
  state: WindowState;
  /** Judged on the realised value once final; 'pending' before. */
  status: Status | 'pending';
  /** When labels stop being waited for: the window's end plus the maximum delay. */
  final_by: number;
  estimated?: { metrics: Record<EstimatedMetric, Estimate>; value: number | null; status: Status | null };
  /** Per A/B arm: the models that answered. */
  arms: ({ models: string } & Realised)[];
  /** Per shadow challenger: its predictions against the same labels. */
  challengers: ({ challenger: string } & Realised)[];
}

const labelled = (rows: JoinedRow[], pick: (r: JoinedRow) => Prediction | undefined) =>
  rows.flatMap((r) => {
    const p = pick(r);
    return p && r.label !== null && p.value !== null ? [{ p, label: r.label }] : [];
  });

/** The classes probabilities are for: the monitor's, else 0..k−1. */
const classesOf = (def: ResolvedMonitor, width: number) => def.classes ?? Array.from({ length: width }, (_, i) => String(i));

function realise(def: ResolvedMonitor, rows: JoinedRow[], pick: (r: JoinedRow) => Prediction | undefined): Realised {
  const count = rows.filter((r) => pick(r) !== undefined).length;
  const joined = labelled(rows, pick);
  const base = { count, labelled: joined.length, coverage: count ? joined.length / count : null };
  let result: ClassificationResult | RegressionResult;
  if (def.task === 'regression') {
    result = regressionMetrics(joined.map((j) => j.label as number), joined.map((j) => j.p.value as number));
  } else {
    const probs = joined.every((j) => j.p.probabilities) && joined.length > 0 ? joined.map((j) => j.p.probabilities!) : undefined;
    const classes = probs ? classesOf(def, probs[0].length) : undefined;
    result = classificationMetrics({
      truth: joined.map((j) => String(j.label)), predicted: joined.map((j) => String(j.p.value)), positive: def.positive,
      probabilities: probs && classes && probs.every((p) => p.length === classes.length) ? probs : undefined, classes,
    });
  }
  const metrics = result.metrics as Record<string, number | null>;
  return { ...base, value: metrics[def.metric] ?? null, metrics, ...('confusion_matrix' in result ? { confusion_matrix: result.confusion_matrix } : {}) };
}

export function evaluateWindow(def: ResolvedMonitor, calibration: Calibration | null, rows: JoinedRow[], w: Window, now: number): PerformanceWindow {
  const overall = realise(def, rows, (r) => r.answer);
  const finalBy = w.end + def.coverage.max_delay;
  const state: WindowState = (overall.coverage ?? 0) >= def.coverage.min || now >= finalBy ? 'final' : 'pending';
  const judge = (v: number | null): Status => (def.thresholds ? statusOf(def.thresholds, v) : v === null ? 'no_data' : 'ok');
  const out: PerformanceWindow = {
    window: w, metric: def.metric, ...overall, state, status: state === 'pending' ? 'pending' : judge(overall.value), final_by: finalBy,
    arms: [...new Set(rows.map((r) => r.arm))].sort().map((models) => ({ models, ...realise(def, rows.filter((r) => r.arm === models), (r) => r.answer) })),
    challengers: [...new Set(rows.flatMap((r) => [...r.shadows.keys()]))].sort().map((c) => ({ challenger: c, ...realise(def, rows, (r) => r.shadows.get(c)) })),
  };
  if (calibration) {
    const classes = classesOf(def, 2);
    const pi = classes.indexOf(def.positive);
    const usable = rows.filter((r) => r.answer.value !== null && r.answer.probabilities?.length === 2);
    const metrics = estimate(calibration, usable.map((r) => (r.answer.value === def.positive ? 1 : 0)), usable.map((r) => r.answer.probabilities![pi]));
    const value = ESTIMATED_METRICS.includes(def.metric as EstimatedMetric) ? metrics[def.metric as EstimatedMetric].value : null;
    out.estimated = { metrics, value, status: value === null ? null : judge(value) };
  }
  return out;
}
