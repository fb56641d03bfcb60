/** Binning against the numpy reference, and its edge cases: ties, one value, NaN, bad edges. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BettongError } from '../errors/index.ts';
import {
  type BinMode, asCategory, categoricalBinning, categoricalHistogram, numericBinIndex, numericBinning, numericHistogram, quantileSorted,
} from './binning.ts';
import { close, vectors } from './vectors.testkit.ts';

const numeric = (xs: (number | null)[]) => Float64Array.from(xs, (x) => (x === null ? NaN : x));
const finiteSorted = (xs: (number | null)[]) => Float64Array.from(xs.filter((x): x is number => x !== null)).sort();

const refuses = (fn: () => unknown, code: string, pattern: RegExp) => {
  assert.throws(fn, (e: unknown) => e instanceof BettongError && e.code === code && pattern.test(e.message));
};

describe('binning matches the numpy reference', () => {
  for (const c of vectors.cases.filter((x: any) => x.kind === 'numeric')) {
    it(`${c.name}: ${c.mode} edges and counts`, () => {
      const b = numericBinning(finiteSorted(c.baseline), c.mode as BinMode, c.mode === 'provided' ? undefined : c.bins, c.provided_edges);
      assert.equal(b.edges.length, c.edges.length);
      b.edges.forEach((e, i) => close(e, c.edges[i], `edge ${i}`, 0, 0));
      assert.deepEqual(numericHistogram(b.edges, numeric(c.baseline)), c.baseline_counts);
      assert.deepEqual(numericHistogram(b.edges, numeric(c.window)), c.window_counts);
      assert.equal(b.labels.length, c.baseline_counts.length);
    });
  }
  for (const c of vectors.cases.filter((x: any) => x.kind === 'categorical')) {
    it(`${c.name}: categories, missing and unseen bins`, () => {
      const b = categoricalBinning(c.baseline.map(asCategory).filter((x: string | null) => x !== null));
      assert.deepEqual(b.categories, c.categories);
      assert.deepEqual(categoricalHistogram(b, c.baseline), c.baseline_counts);
      assert.deepEqual(categoricalHistogram(b, c.window), c.window_counts);
    });
  }
});

describe('binning edge cases', () => {
  it('quantiles are numpy\'s linear ones', () => {
    const s = Float64Array.from([1, 2, 3, 4]);
    assert.equal(quantileSorted(s, 0), 1);
    assert.equal(quantileSorted(s, 0.5), 2.5);
    assert.equal(quantileSorted(s, 1), 4);
    assert.equal(quantileSorted(s, 1 / 3), 2);
  });

  it('NaN goes to the leftmost bin; edges are closed on the right only at the end', () => {
    const edges = [0, 1, 2];
    assert.deepEqual([NaN, -1, 0, 0.5, 1, 2, 2.0001].map((v) => numericBinIndex(edges, v)), [0, 0, 1, 1, 2, 2, 3]);
  });

  it('an all-equal baseline gives one point bin between the outlier bins, and says so', () => {
    for (const mode of ['quantile', 'equal_width'] as const) {
      const b = numericBinning(new Float64Array(20).fill(3), mode, 5);
      assert.deepEqual(b.edges, [3]);
      assert.equal(b.labels.length, 3);
      assert.match(b.note!, /every baseline value is 3/);
      assert.deepEqual(numericHistogram(b.edges, numeric([2, 3, 3, 4, null])), [2, 2, 1]);
    }
  });

  it('ties merge quantile edges and report the bins really used (never silently)', () => {
    const b = numericBinning(Float64Array.from([0, 0, 0, 0, 0, 0, 0, 1, 2, 3]), 'quantile', 5);
    assert.ok(b.edges.length - 1 < 5);
    assert.match(b.note!, /5 quantile bins asked, \d used/);
  });

  it('refuses a baseline with too few points for the bins', () => {
    refuses(() => numericBinning(Float64Array.from([1, 2, 3]), 'quantile', 5), 'BASELINE_TOO_SMALL', /3 numeric value\(s\); 5 bins need at least 10/);
  });

  it('refuses edges that are not increasing, not finite, or that contradict the bin count', () => {
    const s = Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    refuses(() => numericBinning(s, 'provided', undefined, [0, 2, 2, 3]), 'INVALID_BIN_EDGES', /strictly increasing: edges\[1\] = 2 is not below edges\[2\] = 2/);
    refuses(() => numericBinning(s, 'provided', undefined, [3, 1]), 'INVALID_BIN_EDGES', /strictly increasing/);
    refuses(() => numericBinning(s, 'provided', undefined, [0]), 'INVALID_BIN_EDGES', /at least 2/);
    refuses(() => numericBinning(s, 'provided', undefined, [0, Infinity]), 'INVALID_BIN_EDGES', /finite/);
    refuses(() => numericBinning(s, 'provided', 3, [0, 1, 2]), 'INVALID_BIN_EDGES', /'binning.bins' is 3 but the 3 edges given make 2 bins/);
    refuses(() => numericBinning(s, 'quantile', 0), 'INVALID_ASSAY', /binning.bins/);
  });

  it('a category is the value\'s text: the label "0" from a CSV, a list or the logs is one category (issue 10)', () => {
    assert.equal(asCategory('0'), asCategory(0));
    assert.deepEqual([asCategory(1.5), asCategory(true), asCategory(''), asCategory(null), asCategory(NaN)], ['1.5', 'true', '', null, null]);
    assert.deepEqual(categoricalBinning(['10', 'b', '2', 'a', '-1.5', '2']).categories, ['-1.5', '2', '10', 'a', 'b']);
    const b = categoricalBinning(['0', '1']);
    assert.deepEqual(categoricalHistogram(b, ['0', 0, '1', 1, 2, null]), [1, 2, 2, 1]);
  });
});
