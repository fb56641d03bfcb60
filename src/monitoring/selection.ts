/**
 * Order statistics of an unsorted sample without sorting it: the k-th smallest value by
 * selection (Hoare's quickselect), O(n) per statistic instead of an O(n log n) sort. A PSI
 * baseline needs only its quantile edges, min, max and median — a handful of ranks.
 */

/** What quantiles read: the value of rank i (0-based) of n. A sorted array is one too. */
export interface Ranked {
  readonly length: number;
  at(i: number): number | undefined;
}

/** Copies the values that are not NaN into a new array, in their order. */
export function withoutNaN(values: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x === x) out[n++] = x; // x !== x only for NaN
  }
  return n === out.length ? out : out.slice(0, n);
}

/**
 * Ranks of a NaN-free sample, found on demand. It reorders the array in place: each rank found is
 * a pivot (all values before it are ≤, all after ≥), so the next search runs only between the two
 * nearest pivots already found.
 */
export class Selection implements Ranked {
  /** Ranks already in place, ascending. */
  private readonly fixed: number[] = [];

  constructor(private readonly a: Float64Array) {}

  get length(): number { return this.a.length; }

  at(k: number): number | undefined {
    const a = this.a;
    if (!(k >= 0 && k < a.length)) return undefined;
    let p = 0;
    while (p < this.fixed.length && this.fixed[p] < k) p++;
    if (this.fixed[p] === k) return a[k];
    let l = p > 0 ? this.fixed[p - 1] + 1 : 0;
    let r = p < this.fixed.length ? this.fixed[p] - 1 : a.length - 1;
    while (l < r) {
      // pivot: the median of the first, middle and last values (a value of the range, so the scans stop)
      const x0 = a[l];
      const x1 = a[(l + r) >>> 1];
      const x2 = a[r];
      const x = x0 < x1 ? (x1 < x2 ? x1 : x0 < x2 ? x2 : x0) : (x0 < x2 ? x0 : x1 < x2 ? x2 : x1);
      let i = l;
      let j = r;
      do {
        while (a[i] < x) i++;
        while (x < a[j]) j--;
        if (i <= j) {
          const t = a[i];
          a[i] = a[j];
          a[j] = t;
          i++;
          j--;
        }
      } while (i <= j);
      if (j < k) l = i;
      if (k < i) r = j;
    }
    this.fixed.splice(p, 0, k);
    return a[k];
  }
}
