/**
 * Confidence-based performance estimation (CBPE, as NannyML defines it) for binary classifiers:
 * the performance of a window without its labels, from its predicted probabilities.
 *
 * Calibration: an isotonic regression of the labels on the scores of a labelled reference period
 * (scikit-learn's IsotonicRegression(out_of_bounds='clip'): pool-adjacent-violators over the
 * distinct scores, linear interpolation between them). NannyML first checks on held-out splits
 * whether calibration helps and skips it when not; Bettong always calibrates (on a calibrated
 * model isotonic calibration changes little), so the two agree whenever NannyML calibrates.
 * Estimates, with p the calibrated probability of the positive class and ŷ the predicted class:
 * accuracy = mean(ŷ·p + (1−ŷ)(1−p)); F1 = TP / (TP + (FP + FN)/2) over expected counts;
 * ROC AUC = the area under the expected ROC curve (rows by uncalibrated score, descending; expected
 * TP and FP counts rounded to 5 decimals, as NannyML does). Bands: estimate ± 3 sampling errors,
 * clipped to [0, 1]; sampling errors from the reference's components over the window's size,
 * NannyML's formulas (nannyml/sampling_error/binary_classification.py).
 */
export interface Calibration {
  /** Distinct reference scores, ascending, and the calibrated probability at each. */
  x: number[];
  y: number[];
  /** Sampling-error components from the reference. */
  components: { accuracy: number; f1: [number, number]; roc_auc: [number, number] };
  reference_rows: number;
}

export interface Estimate {
  value: number | null;
  sampling_error: number | null;
  lower: number | null;
  upper: number | null;
}

export type EstimatedMetric = 'accuracy' | 'f1' | 'roc_auc';
export const ESTIMATED_METRICS: EstimatedMetric[] = ['accuracy', 'f1', 'roc_auc'];

const std = (xs: number[]) => {
  if (xs.length === 0) return NaN;
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / xs.length);
};

/** Isotonic (increasing) fit of y on x: the distinct x, ascending, and the fitted value at each. */
export function isotonicFit(x: number[], y: number[]): { x: number[]; y: number[] } {
  const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
  // ties in x pool first (their mean, weighted by count), as sklearn's _make_unique does
  const xs: number[] = [];
  const sums: number[] = [];
  const weights: number[] = [];
  for (const i of order) {
    if (xs.length && xs[xs.length - 1] === x[i]) { sums[sums.length - 1] += y[i]; weights[weights.length - 1]++; }
    else { xs.push(x[i]); sums.push(y[i]); weights.push(1); }
  }
  // pool adjacent violators over blocks
  const bv: number[] = [];
  const bw: number[] = [];
  const bn: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    bv.push(sums[i] / weights[i]); bw.push(weights[i]); bn.push(1);
    while (bv.length > 1 && bv[bv.length - 2] > bv[bv.length - 1]) {
      const w = bw[bw.length - 2] + bw[bw.length - 1];
      const v = (bv[bv.length - 2] * bw[bw.length - 2] + bv[bv.length - 1] * bw[bw.length - 1]) / w;
      const n = bn[bn.length - 2] + bn[bn.length - 1];
      bv.splice(-2, 2, v); bw.splice(-2, 2, w); bn.splice(-2, 2, n);
    }
  }
  const fitted: number[] = [];
  bv.forEach((v, b) => { for (let k = 0; k < bn[b]; k++) fitted.push(v); });
  return { x: xs, y: fitted };
}

/** np.interp with the ends clipped. */
export function interpolate(fit: { x: number[]; y: number[] }, v: number): number {
  const { x, y } = fit;
  if (v <= x[0]) return y[0];
  if (v >= x[x.length - 1]) return y[y.length - 1];
  let lo = 0;
  let hi = x.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x[mid] <= v) lo = mid; else hi = mid;
  }
  return y[lo] + ((y[hi] - y[lo]) * (v - x[lo])) / (x[hi] - x[lo]);
}

/** Calibrates on a labelled reference: truth and prediction as 0/1, score the positive class's probability. */
export function calibrate(truth: number[], predicted: number[], score: number[]): Calibration {
  const fit = isotonicFit(score, truth);
  const correct = truth.map((t, i) => (t === predicted[i] ? 1 : 0));
  // F1: observation-level values over the TP, FN and FP rows
  const tp = truth.filter((t, i) => t === 1 && predicted[i] === 1).length;
  const fn = truth.filter((t, i) => t === 1 && predicted[i] === 0).length;
  const fp = truth.filter((t, i) => t === 0 && predicted[i] === 1).length;
  const relevant = tp + fn + fp;
  const factor = relevant / ((fn + fp) * 0.5 + tp);
  const f1Obs = [...new Array(tp).fill(factor), ...new Array(fn + fp).fill(0)];
  return {
    x: fit.x, y: fit.y, reference_rows: truth.length,
    components: { accuracy: std(correct), f1: relevant ? [std(f1Obs), relevant / truth.length] : [NaN, 0], roc_auc: aucComponents(truth, score) },
  };
}

/** NannyML's AUROC sampling-error components: the spread of positives' normalised ranks, and the positive share. */
function aucComponents(truth: number[], score: number[]): [number, number] {
  let y = truth;
  let s = score;
  if (y.reduce((a, b) => a + b, 0) / y.length > 0.5) { y = y.map((t) => 1 - t); s = s.map((p) => 1 - p); }
  const order = s.map((_, i) => i).sort((a, b) => s[a] - s[b]);
  const ranks = [...new Set(order.map((i, r) => y[i] * r))].sort((a, b) => a - b).slice(1);
  const nPos = y.reduce((a, b) => a + b, 0);
  const nNeg = y.length - nPos;
  return [std(ranks.map((r, i) => (r - i) / nNeg)), nPos / y.length];
}

const band = (value: number, se: number): Estimate => ({
  value, sampling_error: se, lower: Math.max(0, value - 3 * se), upper: Math.min(1, value + 3 * se),
});
const none: Estimate = { value: null, sampling_error: null, lower: null, upper: null };

/** The window's estimated accuracy, F1 and ROC AUC from its predictions (0/1) and positive-class scores. */
export function estimate(c: Calibration, predicted: number[], score: number[]): Record<EstimatedMetric, Estimate> {
  const n = predicted.length;
  if (n === 0) return { accuracy: none, f1: none, roc_auc: none };
  const p = score.map((s) => interpolate(c, s));
  let TP = 0; let TN = 0; let FP = 0; let FN = 0;
  for (let i = 0; i < n; i++) {
    if (predicted[i] === 1) { TP += p[i]; FP += 1 - p[i]; } else { TN += 1 - p[i]; FN += p[i]; }
  }
  const accuracy = (TP + TN) / n;
  const denom = TP + 0.5 * (FP + FN);
  const f1 = denom !== 0 ? TP / denom : 0;
  const universal = ([sd, fraction]: [number, number]) => sd / Math.sqrt(n * fraction);
  return {
    accuracy: band(accuracy, c.components.accuracy / Math.sqrt(n)),
    f1: band(f1, universal(c.components.f1)),
    roc_auc: expectedAuc(p, score, universal(c.components.roc_auc)),
  };
}

function expectedAuc(p: number[], score: number[], se: number): Estimate {
  // descending by the model's own score; ties keep a reversed stable order, like NumPy's argsort()[::-1] on distinct scores
  const order = score.map((_, i) => i).sort((a, b) => score[a] - score[b]).reverse();
  const r5 = (v: number) => Math.round(v * 1e5) / 1e5;
  const tps = [0];
  const fps = [0];
  let cum = 0;
  order.forEach((i, k) => { cum += p[i]; tps.push(r5(cum)); fps.push(r5(1 + k - cum)); });
  const tpLast = tps[tps.length - 1];
  const fpLast = fps[fps.length - 1];
  if (tpLast === 0 || fpLast === 0) return none;
  let area = 0;
  for (let k = 1; k < tps.length; k++) area += ((fps[k] - fps[k - 1]) / fpLast) * ((tps[k] + tps[k - 1]) / tpLast) / 2;
  return band(area, se);
}
