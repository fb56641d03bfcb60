/**
 * Performance metrics over joined rows (a prediction and its ground-truth label), defined as
 * scikit-learn defines them (checked against it in metrics.test.ts at 1e-9):
 * classification — accuracy, precision / recall / F1 (binary, macro, weighted; zero_division 0),
 * ROC AUC (binary; multiclass one-vs-rest macro), log loss (probabilities clipped to
 * [eps, 1 − eps], not renormalised), Brier score (binary: mean (p − y)²; three or more classes:
 * mean Σ_k (p_k − y_k)², sklearn's scale_by_half='auto'), confusion matrix; regression — MAE,
 * RMSE, MAPE (|y − ŷ| / max(|y|, eps)), R² (force_finite: 1 for a perfect fit of a constant, else 0).
 * A metric that is undefined on the rows given (ROC AUC with one class present) is null.
 */

export const CLASSIFICATION_METRICS = [
  'accuracy', 'precision', 'recall', 'f1', 'precision_macro', 'recall_macro', 'f1_macro',
  'precision_weighted', 'recall_weighted', 'f1_weighted', 'roc_auc', 'log_loss', 'brier',
] as const;
export const REGRESSION_METRICS = ['mae', 'rmse', 'mape', 'r2'] as const;
export type ClassificationMetric = (typeof CLASSIFICATION_METRICS)[number];
export type RegressionMetric = (typeof REGRESSION_METRICS)[number];
export type PerformanceMetric = ClassificationMetric | RegressionMetric;
/** Metrics where lower is better: an alert fires at or above the level; for the others, below it. */
export const LOWER_IS_BETTER: PerformanceMetric[] = ['log_loss', 'brier', 'mae', 'rmse', 'mape'];

const EPS = 2.220446049250313e-16; // numpy's float64 eps, as sklearn uses it

export interface ClassificationInput {
  /** Ground truth, as category text. */
  truth: string[];
  /** Predicted class, as category text. */
  predicted: string[];
  /** The positive class for the binary metrics. */
  positive: string;
  /** Per row, the probability of each class in `classes` order (optional). */
  probabilities?: number[][];
  /** The classes the probabilities are for; sorted, as sklearn orders labels. */
  classes?: string[];
}

export interface ClassificationResult {
  count: number;
  metrics: Record<ClassificationMetric, number | null>;
  /** Rows: truth, columns: predicted, over `labels`. */
  confusion_matrix: { labels: string[]; matrix: number[][] };
  per_class: { label: string; precision: number; recall: number; f1: number; support: number }[];
}

export interface RegressionResult {
  count: number;
  metrics: Record<RegressionMetric, number | null>;
}

/** sklearn's label order: numbers numerically when every label is one, else as text. */
export function sortLabels(labels: Iterable<string>): string[] {
  const xs = [...new Set(labels)];
  const numeric = xs.every((x) => x.trim() !== '' && Number.isFinite(Number(x)));
  return numeric ? xs.sort((a, b) => Number(a) - Number(b)) : xs.sort();
}

const div = (a: number, b: number) => (b === 0 ? 0 : a / b);
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

/** Area under the ROC curve of scores for `positive` (1) vs the rest (0), ties counted half: sklearn's trapezoid AUC. */
export function binaryAuc(isPositive: boolean[], scores: number[]): number | null {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const ranks = new Float64Array(n);
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]] === scores[order[i]]) j++;
    const r = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]] = r;
    i = j + 1;
  }
  let np = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) if (isPositive[i]) { np++; sum += ranks[i]; }
  const nn = n - np;
  if (np === 0 || nn === 0) return null;
  return (sum - (np * (np + 1)) / 2) / (np * nn);
}

export function classificationMetrics(x: ClassificationInput): ClassificationResult {
  const n = x.truth.length;
  const labels = sortLabels([...x.truth, ...x.predicted]);
  const pos = new Map(labels.map((l, i) => [l, i]));
  const k = labels.length;
  const matrix = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (let i = 0; i < n; i++) matrix[pos.get(x.truth[i])!][pos.get(x.predicted[i])!]++;
  const perClass = labels.map((label, c) => {
    const tp = matrix[c][c];
    let predicted = 0;
    let support = 0;
    for (let r = 0; r < k; r++) { predicted += matrix[r][c]; support += matrix[c][r]; }
    const precision = div(tp, predicted);
    const recall = div(tp, support);
    return { label, precision, recall, f1: div(2 * tp, predicted + support), support };
  });
  let correct = 0;
  for (let c = 0; c < k; c++) correct += matrix[c][c];
  const macro = (f: 'precision' | 'recall' | 'f1') => (k === 0 ? 0 : mean(perClass.map((p) => p[f])));
  const weighted = (f: 'precision' | 'recall' | 'f1') => div(perClass.reduce((s, p) => s + p[f] * p.support, 0), n);
  const positive = perClass.find((p) => p.label === x.positive) ?? { precision: 0, recall: 0, f1: 0 };

  let rocAuc: number | null = null;
  let logLoss: number | null = null;
  let brier: number | null = null;
  if (x.probabilities && x.classes && n > 0) {
    const classes = x.classes;
    const P = x.probabilities;
    const truthIdx = x.truth.map((t) => classes.indexOf(t));
    if (truthIdx.every((i) => i >= 0)) {
      if (classes.length === 2) {
        const pi = classes.indexOf(x.positive);
        const score = P.map((p) => p[pi]);
        const isPos = x.truth.map((t) => t === x.positive);
        rocAuc = binaryAuc(isPos, score);
        brier = mean(score.map((s, i) => (s - (isPos[i] ? 1 : 0)) ** 2));
      } else {
        const present = classes.filter((_, c) => truthIdx.includes(c));
        // sklearn's one-vs-rest macro needs every class of the probabilities in the truth
        if (present.length === classes.length) {
          const aucs = classes.map((_, c) => binaryAuc(truthIdx.map((t) => t === c), P.map((p) => p[c])));
          rocAuc = aucs.some((a) => a === null) ? null : mean(aucs as number[]);
        }
        brier = mean(P.map((p, i) => p.reduce((s, q, c) => s + (q - (truthIdx[i] === c ? 1 : 0)) ** 2, 0)));
      }
      logLoss = mean(P.map((p, i) => -Math.log(Math.min(Math.max(p[truthIdx[i]], EPS), 1 - EPS))));
    }
  }
  const none = n === 0;
  return {
    count: n,
    metrics: {
      accuracy: none ? null : correct / n,
      precision: none ? null : positive.precision, recall: none ? null : positive.recall, f1: none ? null : positive.f1,
      precision_macro: none ? null : macro('precision'), recall_macro: none ? null : macro('recall'), f1_macro: none ? null : macro('f1'),
      precision_weighted: none ? null : weighted('precision'), recall_weighted: none ? null : weighted('recall'), f1_weighted: none ? null : weighted('f1'),
      roc_auc: rocAuc, log_loss: logLoss, brier,
    },
    confusion_matrix: { labels, matrix },
    per_class: perClass,
  };
}

export function regressionMetrics(truth: number[], predicted: number[]): RegressionResult {
  const n = truth.length;
  if (n === 0) return { count: 0, metrics: { mae: null, rmse: null, mape: null, r2: null } };
  let abs = 0;
  let sq = 0;
  let ape = 0;
  for (let i = 0; i < n; i++) {
    const e = truth[i] - predicted[i];
    abs += Math.abs(e);
    sq += e * e;
    ape += Math.abs(e) / Math.max(Math.abs(truth[i]), EPS);
  }
  const m = mean(truth);
  const tot = truth.reduce((s, y) => s + (y - m) ** 2, 0);
  const r2 = tot === 0 ? (sq === 0 ? 1 : 0) : 1 - sq / tot;
  return { count: n, metrics: { mae: abs / n, rmse: Math.sqrt(sq / n), mape: ape / n, r2: n < 2 ? null : r2 } };
}
