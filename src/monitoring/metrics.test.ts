/** The metrics against scipy and the numpy reference (testdata/drift/make_vectors.py). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_EPSILON, chiSquare, jensenShannon, kolmogorovSf, ksTwoSample, maxDiff, proportions, psi, sumDiff, wasserstein1,
} from './metrics.ts';
import { close, vectors } from './vectors.testkit.ts';

const finiteSorted = (xs: (number | null)[]) => Float64Array.from(xs.filter((x): x is number => x !== null)).sort();

describe('metrics match the reference vectors', () => {
  assert.equal(vectors.epsilon, DEFAULT_EPSILON);
  for (const c of vectors.cases) {
    it(`${c.name}: PSI, MaxDiff, SumDiff, Jensen–Shannon from the same counts`, () => {
      const b = proportions(c.baseline_counts);
      const w = proportions(c.window_counts);
      b.forEach((x, i) => close(x, c.baseline_proportions[i], `baseline proportion ${i}`));
      const p = psi(b, w);
      close(p.score, c.psi, 'psi', 1e-12);
      p.bins.forEach((x, i) => close(x, c.psi_bins[i], `psi bin ${i}`, 1e-12));
      const md = maxDiff(b, w);
      close(md.score, c.maxdiff, 'maxdiff');
      assert.equal(md.bin, c.maxdiff_bin);
      close(sumDiff(b, w).score, c.sumdiff, 'sumdiff', 1e-12);
      close(jensenShannon(b, w), c.jensenshannon, 'jensenshannon', 1e-12);
      assert.ok(Number.isFinite(p.score));
    });
    if (c.kind === 'numeric') {
      it(`${c.name}: KS (${c.ks.method}) and Wasserstein-1 from the samples`, () => {
        const a = finiteSorted(c.baseline);
        const w = finiteSorted(c.window);
        const ks = ksTwoSample(a, w);
        close(ks.statistic, c.ks.statistic, 'ks statistic', 1e-12);
        assert.equal(ks.method, c.ks.method);
        close(ks.pvalue, c.ks.pvalue, 'ks p-value', 1e-9, 1e-300);
        close(wasserstein1(a, w), c.wasserstein, 'wasserstein', 1e-11);
        close(wasserstein1(w, a), c.wasserstein, 'wasserstein is symmetric', 1e-11);
      });
    }
    it(`${c.name}: chi-square as scipy's chisquare over the bins the baseline has values in`, () => {
      const chi = chiSquare(c.window_counts, proportions(c.baseline_counts));
      const want = c.chisquare;
      assert.deepEqual({ df: chi.df, bins: chi.bins, unscored: chi.unscored }, { df: want.df, bins: want.bins, unscored: want.unscored });
      // null in the vectors: scipy's NaN (no window row in a scored bin)
      if (want.statistic === null) assert.ok(Number.isNaN(chi.statistic), `statistic ${chi.statistic}`);
      else close(chi.statistic, want.statistic, 'chi-square statistic', 1e-9, 1e-300);
      if (want.pvalue === null) assert.ok(Number.isNaN(chi.pvalue), `p-value ${chi.pvalue}`);
      else close(chi.pvalue, want.pvalue, 'chi-square p-value', 1e-9, 1e-300);
    });
  }

  it('kstwo.sf over every branch (Ruben–Gambino, Durbin, Pomeranz, Smirnov, Pelz–Good)', () => {
    for (const { n, x, sf } of vectors.kstwo_sf) close(kolmogorovSf(n, x), sf, `kstwo.sf(${x}, ${n})`, 1e-9, 1e-15);
  });
});

describe('metric edge cases', () => {
  it('identical distributions score zero everywhere', () => {
    const b = [0.1, 0.2, 0.3, 0.4];
    assert.equal(psi(b, b).score, 0);
    assert.equal(maxDiff(b, b).score, 0);
    assert.equal(sumDiff(b, b).score, 0);
    assert.equal(jensenShannon(b, b), 0);
    const s = Float64Array.from([1, 2, 3]);
    assert.deepEqual(ksTwoSample(s, s), { statistic: 0, pvalue: 1, method: 'exact' });
    assert.equal(wasserstein1(s, s), 0);
  });

  it('empty bins are finite: epsilon stands in, and its size is the stated one', () => {
    const b = [0, 0.5, 0.5, 0];
    const w = [0.2, 0.3, 0.3, 0.2];
    const p = psi(b, w);
    assert.ok(Number.isFinite(p.score));
    close(p.bins[0], (0.2 - DEFAULT_EPSILON) * Math.log(0.2 / DEFAULT_EPSILON), 'psi bin 0');
    assert.equal(psi([0, 1], [0, 1]).bins[0], 0, 'empty in both: no contribution');
    assert.ok(psi(b, w, 1e-2).score < p.score, 'a larger epsilon lowers the score');
    close(jensenShannon([1, 0], [0, 1]), 1, 'disjoint supports: JS distance 1 in base 2');
    close(sumDiff([1, 0], [0, 1]).score, 1, 'disjoint supports: SumDiff 1');
  });

  it('chi-square leaves bins empty in the baseline out: no epsilon expectation, no degree of freedom (issue 10)', () => {
    // a:50/b:30/c:20 vs a:40/b:35/c:25 with (missing) and (unseen) around them: scipy.stats.chisquare([40, 35, 25], f_exp=[50, 30, 20])
    const b = proportions([0, 50, 30, 20, 0]);
    const chi = chiSquare([0, 40, 35, 25, 0], b);
    close(chi.statistic, 4.083333333333334, 'statistic', 1e-12);
    close(chi.pvalue, 0.12981217685543797, 'p-value', 1e-9);
    assert.deepEqual([chi.df, chi.bins, chi.unscored], [2, 3, 0]);
    // window rows the baseline never had are counted as unscored; the rest is tested on its own total
    const unseen = chiSquare([2, 40, 35, 25, 9], b);
    assert.deepEqual([unseen.statistic, unseen.pvalue, unseen.df, unseen.unscored], [chi.statistic, chi.pvalue, 2, 11]);
    const only = chiSquare([5, 5], [1, 0]);
    assert.deepEqual([only.statistic, only.pvalue, only.df, only.bins, only.unscored], [0, 1, 0, 1, 5], 'one bin: nothing to test, p 1 (scipy: NaN)');
    const none = chiSquare([0, 4], [1, 0]);
    assert.ok(Number.isNaN(none.statistic) && Number.isNaN(none.pvalue) && none.unscored === 4, 'no window row in a scored bin');
  });

  it('KS of disjoint samples is 1 with a tiny p-value; of one value each side too', () => {
    const r = ksTwoSample(Float64Array.from([1, 2, 3]), Float64Array.from([4, 5, 6, 7]));
    assert.equal(r.statistic, 1);
    close(r.pvalue, 2 / 35, 'p = 2/C(7,3)');
    assert.equal(ksTwoSample(Float64Array.from([1]), Float64Array.from([2])).statistic, 1);
  });

  it('an empty sample gives NaN, never a throw', () => {
    assert.ok(Number.isNaN(ksTwoSample(new Float64Array(0), Float64Array.from([1])).statistic));
    assert.ok(Number.isNaN(wasserstein1(new Float64Array(0), Float64Array.from([1]))));
  });
});
