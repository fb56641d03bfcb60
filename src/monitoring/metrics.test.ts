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
    } else {
      it(`${c.name}: chi-square against the baseline proportions`, () => {
        const chi = chiSquare(c.window_counts, proportions(c.baseline_counts));
        assert.equal(chi.df, c.chisquare.df);
        close(chi.statistic, c.chisquare.statistic, 'chi-square statistic', 1e-11);
        close(chi.pvalue, c.chisquare.pvalue, 'chi-square p-value', 1e-9, 1e-300);
      });
    }
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
    const chi = chiSquare([5, 5], [1, 0]);
    assert.ok(Number.isFinite(chi.statistic) && chi.pvalue >= 0);
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
