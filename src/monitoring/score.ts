/**
 * One window against the baseline profile: every binned metric from the two histograms, the
 * sample metrics (KS, Wasserstein) when the assay's metric is one, the score and the status.
 * Every result carries what it was computed with (edges, epsilon, log base, thresholds), so it
 * can be reproduced.
 */
import type { ResolvedDefinition, Status } from './definition.ts';
import { statusOf } from './definition.ts';
import { type ChiSquareResult, JS_LOG_BASE, type KsResult, chiSquare, jensenShannon, ksTwoSample, maxDiff, proportions, psi, sumDiff, wasserstein1 } from './metrics.ts';
import type { BaselineProfile, CategoricalSummary } from './profile.ts';
import type { NumericSummary } from './source.ts';
import type { Window } from './windows.ts';

export interface WindowResult {
  window: Window;
  /** Rows logged in the window (NaN / missing included). */
  count: number;
  metric: ResolvedDefinition['metric'];
  /** The metric's value (for ks and chisquare: the statistic); null when the window has no rows. */
  score: number | null;
  /** ks and chisquare: the p-value the status is judged on. */
  pvalue?: number;
  status: Status;
  /** Everything a chart needs: the bins and both histograms, plus the metric's per-bin terms. */
  bins: {
    labels: string[];
    edges?: number[];
    categories?: (string | number)[];
    baseline: number[];
    window: number[];
    window_counts: number[];
    /** Per-bin terms of the assay's metric (psi, maxdiff, sumdiff); null for the others. */
    scores: number[] | null;
  };
  metrics: {
    psi: number;
    maxdiff: { score: number; bin: number };
    sumdiff: number;
    jensenshannon: number;
    chisquare: ChiSquareResult;
    ks?: KsResult;
    wasserstein?: number;
  };
  summary: NumericSummary | CategoricalSummary;
  parameters: {
    epsilon: number;
    js_log_base: number;
    thresholds: ResolvedDefinition['thresholds'];
    binning: { mode: string; requested_bins: number | null; bins: number };
  };
}

export function scoreWindow(
  d: ResolvedDefinition, profile: BaselineProfile, window: Window, counts: number[], summary: WindowResult['summary'],
  samples?: { baseline: Float64Array; window: Float64Array },
): WindowResult {
  const b = profile.proportions;
  const w = proportions(counts);
  const count = counts.reduce((s, x) => s + x, 0);
  const p = psi(b, w, d.epsilon);
  const md = maxDiff(b, w);
  const sd = sumDiff(b, w);
  const metrics: WindowResult['metrics'] = {
    psi: p.score, maxdiff: { score: md.score, bin: md.bin }, sumdiff: sd.score, jensenshannon: jensenShannon(b, w), chisquare: chiSquare(counts, b),
  };
  if (samples && d.metric === 'ks') metrics.ks = ksTwoSample(samples.baseline, samples.window);
  if (samples && d.metric === 'wasserstein') metrics.wasserstein = wasserstein1(samples.baseline, samples.window);

  let score: number | null = null;
  let pvalue: number | undefined;
  let perBin: number[] | null = null;
  if (count > 0) {
    switch (d.metric) {
      case 'psi': score = p.score; perBin = p.bins; break;
      case 'maxdiff': score = md.score; perBin = md.bins; break;
      case 'sumdiff': score = sd.score; perBin = sd.bins; break;
      case 'jensenshannon': score = metrics.jensenshannon; break;
      case 'chisquare': score = metrics.chisquare.statistic; pvalue = metrics.chisquare.pvalue; break;
      case 'ks': score = metrics.ks?.statistic ?? null; pvalue = metrics.ks?.pvalue; break;
      case 'wasserstein': score = metrics.wasserstein ?? null; break;
    }
    if (score !== null && Number.isNaN(score)) score = null; // e.g. KS over a window of NaNs only
  }
  const judged = d.thresholds.direction === 'below' ? (score === null ? null : pvalue ?? null) : score;
  const binning = profile.binning;
  return {
    window, count, metric: d.metric, score, ...(pvalue !== undefined && score !== null ? { pvalue } : {}), status: statusOf(d.thresholds, judged),
    bins: {
      labels: binning.labels,
      ...(binning.kind === 'numeric' ? { edges: binning.edges } : { categories: binning.categories }),
      baseline: b, window: w, window_counts: counts, scores: perBin,
    },
    metrics,
    summary,
    parameters: {
      epsilon: d.epsilon, js_log_base: JS_LOG_BASE, thresholds: d.thresholds,
      binning: binning.kind === 'numeric'
        ? { mode: binning.mode, requested_bins: binning.requested_bins, bins: binning.labels.length }
        : { mode: 'categories', requested_bins: null, bins: binning.labels.length },
    },
  };
}
