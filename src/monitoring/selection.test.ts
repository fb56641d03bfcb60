/** Selection finds every rank a sort would, whatever the order of the requests and the ties. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { quantileSorted } from './binning.ts';
import { Selection, withoutNaN } from './selection.ts';

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('selection', () => {
  const cases: [string, (r: () => number, i: number) => number][] = [
    ['uniform', (r) => r()],
    ['few distinct values', (r) => Math.floor(r() * 4)],
    ['all equal', () => 3],
    ['ascending', (_, i) => i],
    ['descending', (_, i) => -i],
    ['with infinities', (r) => (r() < 0.05 ? -Infinity : r() < 0.05 ? Infinity : r())],
  ];
  for (const [name, gen] of cases) {
    it(`every rank equals the sorted array's: ${name}`, () => {
      const r = rng(7);
      for (const n of [1, 2, 3, 10, 257]) {
        const values = Float64Array.from({ length: n }, (_, i) => gen(r, i));
        const sorted = values.slice().sort();
        const sel = new Selection(values.slice());
        const ranks = Array.from({ length: n }, (_, i) => i).sort(() => r() - 0.5);
        for (const k of ranks) assert.equal(sel.at(k), sorted[k], `n ${n}, rank ${k}`);
        assert.equal(sel.at(n), undefined);
      }
    });
  }

  it('quantiles by selection are the sorted array\'s, bit for bit', () => {
    const r = rng(11);
    const values = Float64Array.from({ length: 10_001 }, () => r() ** 2);
    const sorted = values.slice().sort();
    const sel = new Selection(values.slice());
    for (const q of [0, 0.2, 0.4, 0.5, 0.6, 0.8, 1, 1 / 3]) assert.equal(quantileSorted(sel, q), quantileSorted(sorted, q), `q ${q}`);
  });

  it('withoutNaN keeps the order of the other values', () => {
    assert.deepEqual([...withoutNaN(Float64Array.from([NaN, 2, 1, NaN, 3]))], [2, 1, 3]);
    assert.deepEqual([...withoutNaN(Float64Array.from([1, 2]))], [1, 2]);
  });
});
