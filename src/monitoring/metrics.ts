/**
 * Drift metrics over binned proportions (PSI, MaxDiff, SumDiff, Jensen–Shannon, chi-square) and
 * over raw samples (Kolmogorov–Smirnov, Wasserstein-1). Pure functions, no I/O; checked against
 * scipy and a numpy reference in metrics.test.ts (testdata/drift/vectors.json).
 *
 * b = baseline bin proportions, w = window bin proportions, both summing to 1.
 */
import gammainc from '@stdlib/math-base-special-gammainc';
import gammaln from '@stdlib/math-base-special-gammaln';

/**
 * Empty bins take this proportion in PSI, so no score is ever infinite. Evidently's default;
 * recorded in every result next to the score. (Chi-square leaves bins empty in the baseline out.)
 */
export const DEFAULT_EPSILON = 1e-4;

/** Jensen–Shannon distance uses log base 2, so it lies in [0, 1] (scipy: `base=2`). */
export const JS_LOG_BASE = 2;

export function proportions(counts: ArrayLike<number>): number[] {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  return Array.from(counts, (c) => (total > 0 ? c / total : 0));
}

const smooth = (p: number, epsilon: number) => (p > 0 ? p : epsilon);

/** PSI = Σ (wᵢ − bᵢ)·ln(wᵢ / bᵢ), an empty bin counting as `epsilon`. Per-bin terms too. */
export function psi(b: number[], w: number[], epsilon = DEFAULT_EPSILON): { score: number; bins: number[] } {
  const bins = b.map((bi, i) => {
    const bs = smooth(bi, epsilon);
    const ws = smooth(w[i], epsilon);
    return (ws - bs) * Math.log(ws / bs);
  });
  return { score: bins.reduce((s, x) => s + x, 0), bins };
}

/** The largest |wᵢ − bᵢ| and its bin (the first, on ties). */
export function maxDiff(b: number[], w: number[]): { score: number; bin: number; bins: number[] } {
  const bins = b.map((bi, i) => Math.abs(w[i] - bi));
  let bin = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[bin]) bin = i;
  return { score: bins[bin] ?? 0, bin, bins };
}

/** ½ Σ |wᵢ − bᵢ|: the total variation distance, in [0, 1]. */
export function sumDiff(b: number[], w: number[]): { score: number; bins: number[] } {
  const bins = b.map((bi, i) => 0.5 * Math.abs(w[i] - bi));
  return { score: bins.reduce((s, x) => s + x, 0), bins };
}

/** x·ln(x/y) with 0·ln(0/y) = 0. */
const relEntr = (x: number, y: number) => (x > 0 ? (y > 0 ? x * Math.log(x / y) : Infinity) : 0);

/** Jensen–Shannon distance: √(JS divergence), log base 2 by default (then in [0, 1]). No epsilon needed. */
export function jensenShannon(b: number[], w: number[], base = JS_LOG_BASE): number {
  const p = proportions(b);
  const q = proportions(w);
  let div = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    div += relEntr(p[i], m) + relEntr(q[i], m);
  }
  return Math.sqrt(Math.max(0, div / 2 / Math.log(base)));
}

export interface ChiSquareResult {
  statistic: number;
  pvalue: number;
  /** Scored bins − 1. */
  df: number;
  /** Bins scored: those the baseline has values in. */
  bins: number;
  /** Window rows in bins empty in the baseline (e.g. `(unseen)`): left out of the test, counted here. */
  unscored: number;
}

/**
 * Pearson's chi-square goodness of fit of the window's counts to the baseline's proportions, as
 * scipy's `chisquare(f_obs, f_exp)` over the bins the baseline has values in: the expectation of
 * bin i is bᵢ·n, n the window's rows in those bins (so both sum to n, as scipy requires), and
 * df = those bins − 1. A bin empty in the baseline (the `(missing)` or `(unseen)` bin of a
 * categorical target, an outlier bin of a numeric one) has no expectation: it adds no degree of
 * freedom, and window rows in it are reported as `unscored` (the other metrics see them).
 * One scored bin leaves nothing to test: df 0 and p = 1 (scipy gives NaN; χ² with 0 degrees of
 * freedom is 0 for sure, so P(χ²₀ ≥ 0) = 1), so such a window is `ok`, not `no_data`. No window
 * rows in scored bins: statistic and p-value NaN (the score is null).
 */
export function chiSquare(observed: number[], b: number[]): ChiSquareResult {
  let n = 0;
  let unscored = 0;
  let bins = 0;
  for (let i = 0; i < observed.length; i++) {
    if (b[i] > 0) {
      n += observed[i];
      bins++;
    } else unscored += observed[i];
  }
  let statistic = 0;
  for (let i = 0; i < observed.length; i++) {
    if (!(b[i] > 0)) continue;
    const e = n * b[i];
    statistic += ((observed[i] - e) ** 2) / e;
  }
  const df = bins - 1;
  if (n === 0) statistic = NaN;
  const pvalue = n === 0 ? NaN : df === 0 ? 1 : gammainc(statistic / 2, df / 2, true, true);
  return { statistic, pvalue, df, bins, unscored };
}

// ---- Samples: Kolmogorov–Smirnov and Wasserstein-1. Inputs are sorted and free of NaN. ----

/** Wasserstein-1 = ∫ |F_a − F_b| dx over the two empirical CDFs (scipy `wasserstein_distance`). */
export function wasserstein1(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  const m = b.length;
  if (n === 0 || m === 0) return NaN;
  let i = 0;
  let j = 0;
  let sum = 0;
  let prev = Math.min(a[0], b[0]);
  while (i < n || j < m) {
    const x = j >= m || (i < n && a[i] <= b[j]) ? a[i] : b[j];
    sum += Math.abs(i / n - j / m) * (x - prev);
    while (i < n && a[i] === x) i++;
    while (j < m && b[j] === x) j++;
    prev = x;
  }
  return sum;
}

export interface KsResult {
  statistic: number;
  pvalue: number;
  /** 'exact' when both samples have at most 10,000 values, else 'asymp' (scipy's `method='auto'`). */
  method: 'exact' | 'asymp';
}

export const KS_EXACT_MAX_N = 10_000;

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** Two-sided two-sample KS test. The statistic is sup |F_a − F_b|, found by one merge pass. */
export function ksTwoSample(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) return { statistic: NaN, pvalue: NaN, method: 'exact' };
  // |i·n2 − j·n1| in integers: the statistic is exactly that over n1·n2.
  let i = 0;
  let j = 0;
  let best = 0;
  while (i < n1 && j < n2) {
    const x = a[i] <= b[j] ? a[i] : b[j];
    while (i < n1 && a[i] <= x) i++;
    while (j < n2 && b[j] <= x) j++;
    best = Math.max(best, Math.abs(i * n2 - j * n1));
  }
  const statistic = best / n1 / n2;
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const g = gcd(n1, n2);
    const h = best / g; // statistic · lcm(n1, n2), an integer
    const pvalue = h === 0 ? 1 : n1 === n2 ? outsideSquare(n1, h) : outsideBand(n1, n2, g, h);
    if (Number.isFinite(pvalue) && pvalue >= 0 && pvalue <= 1) return { statistic, pvalue, method: 'exact' };
  }
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const en = Math.round((m * n) / (m + n));
  return { statistic, pvalue: clip01(kolmogorovSf(en, statistic)), method: 'asymp' };
}

const clip01 = (p: number) => Math.min(1, Math.max(0, p));

/**
 * P(D_{n,n} ≥ h/n) for equal sample sizes: 2·Σ_k (−1)^{k+1} C(2n, n − kh) / C(2n, n), each ratio
 * built as a product of h factors and the alternating sum nested (Horner) to avoid cancellation.
 */
function outsideSquare(n: number, h: number): number {
  let nested = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1; // C(2n, n − (k+1)h) / C(2n, n − kh)
    for (let s = 0; s < h; s++) ratio = (ratio * (n - k * h - s)) / (n + k * h + s + 1);
    nested = ratio * (1 - nested);
  }
  return 2 * nested;
}

/**
 * P(D_{m,n} ≥ h/lcm) for unequal sizes: the share of monotone lattice paths from (0,0) to (m,n)
 * that leave the band |x·n/g − y·m/g| < h (Hodges' inside method). Each cell holds the share of
 * paths to it that have left, which obeys a(x,y) = (x·a(x−1,y) + y·a(x,y−1)) / (x+y) and is 1
 * outside the band, so only probabilities in [0, 1] are ever formed (Viehmann 2021).
 */
function outsideBand(n1: number, n2: number, g: number, h: number): number {
  const [m, n] = n1 >= n2 ? [n1, n2] : [n2, n1];
  const mg = m / g;
  const ng = n / g;
  const col = new Float64Array(n + 1).fill(1);
  let lo = 0;
  let hi = Math.min(Math.ceil(h / mg), n + 1); // column 0: inside while y·mg < h
  col.fill(0, lo, hi);
  for (let x = 1; x <= m; x++) {
    const newLo = Math.min(Math.max(Math.floor((ng * x - h) / mg) + 1, 0), n);
    const newHi = Math.min(Math.ceil((ng * x + h) / mg), n + 1);
    if (newHi <= newLo) return 1;
    col.fill(1, lo, newLo); // cells that dropped out of the band
    let below = newLo === 0 ? 0 : 1;
    for (let y = newLo; y < newHi; y++) {
      below = (x * col[y] + y * below) / (x + y);
      col[y] = below;
    }
    lo = newLo;
    hi = newHi;
  }
  void hi;
  return col[n];
}

// ---- The one-sample two-sided KS distribution, P(D_n ≥ x) (scipy `kstwo.sf`) ----

/**
 * Survival function of the two-sided one-sample KS statistic D_n, choosing the method by n and
 * n·x² as Simard & L'Ecuyer (2011) recommend: Ruben–Gambino closed forms at the ends, Durbin's
 * matrix (Marsaglia–Tsang–Wang) where it is exact and cheap, twice Smirnov's one-sided sum where
 * the upper tail is small, and the Pelz–Good expansion for large n.
 */
export function kolmogorovSf(n: number, x: number): number {
  if (!(n >= 1) || Number.isNaN(x)) return NaN;
  if (x >= 1) return 0;
  if (x <= 0) return 1;
  const t = n * x;
  if (t <= 1) {
    if (t <= 0.5) return 1;
    // P(D_n ≤ x) = n!/nⁿ · (2t − 1)ⁿ
    const cdf = Math.exp(gammaln(n + 1) - n * Math.log(n) + n * Math.log(2 * t - 1));
    return clip01(1 - cdf);
  }
  if (t >= n - 1) return clip01(2 * (1 - x) ** n);
  if (x >= 0.5) return clip01(2 * smirnovSf(n, x));
  const nx2 = t * x;
  if (n <= 140) {
    // scipy uses Pomeranz's recursion for 0.754693 < n·x² ≤ 4; Durbin's matrix is exact there too.
    if (nx2 <= 4) return clip01(1 - durbinCdf(n, x));
    return clip01(2 * smirnovSf(n, x));
  }
  if (nx2 >= 370) return 0;
  if (nx2 >= 2.2) return clip01(2 * smirnovSf(n, x));
  if (n <= 100_000 && n * x ** 1.5 <= 1.4) return clip01(1 - durbinCdf(n, x));
  return clip01(1 - pelzGoodCdf(n, x));
}

/**
 * One-sided Smirnov P(D_n⁺ ≥ x) = x·Σ_{j=0}^{⌊n(1−x)⌋} C(n,j)·(x + j/n)^{j−1}·(1 − x − j/n)^{n−j},
 * every term formed in logs (Birnbaum & Tingey 1951).
 */
export function smirnovSf(n: number, x: number): number {
  if (x <= 0) return 1;
  if (x >= 1) return 0;
  const last = Math.floor(n * (1 - x));
  const lnN1 = gammaln(n + 1);
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    const rest = 1 - x - j / n;
    if (rest <= 0 && n - j > 0) continue;
    const ln = lnN1 - gammaln(j + 1) - gammaln(n - j + 1) + (j - 1) * Math.log(x + j / n) + (n - j > 0 ? (n - j) * Math.log(rest) : 0);
    sum += Math.exp(ln);
  }
  return x * sum;
}

const SCALE_EXP = 128;
const SCALE = 2 ** SCALE_EXP;

/** Durbin's matrix method for P(D_n < x), in Marsaglia, Tsang & Wang's (2003) form. */
export function durbinCdf(n: number, d: number): number {
  const nd = n * d;
  if (nd <= 0.5) return 0;
  if (d >= 1) return 1;
  const k = Math.ceil(nd);
  const h = k - nd;
  const m = 2 * k - 1;
  const H = new Float64Array(m * m);
  // H[i][j] = 1/(i−j+1)! for i−j+1 ≥ 0, corrected in the first column and the last row.
  const invFact = new Float64Array(m + 1);
  invFact[0] = 1;
  for (let i = 1; i <= m; i++) invFact[i] = invFact[i - 1] / i;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) if (i - j + 1 >= 0) H[i * m + j] = invFact[i - j + 1];
  }
  for (let i = 0; i < m; i++) {
    H[i * m] = (1 - h ** (i + 1)) * invFact[i + 1];
    H[(m - 1) * m + (m - 1 - i)] = (1 - h ** (i + 1)) * invFact[i + 1];
  }
  H[(m - 1) * m] = (1 - 2 * h ** m + Math.max(0, 2 * h - 1) ** m) * invFact[m];
  // Hⁿ by squaring, rescaling by 2^128 whenever the centre entry grows large.
  let power: Float64Array<ArrayBuffer> | null = null;
  let powerExp = 0;
  let base: Float64Array<ArrayBuffer> = H;
  let baseExp = 0;
  for (let e = n; e > 0; e = Math.floor(e / 2)) {
    if (e % 2 === 1) {
      power = power ? matMul(power, base, m) : base.slice();
      powerExp += baseExp;
    }
    if (e > 1) {
      base = matMul(base, base, m);
      baseExp *= 2;
      if (Math.abs(base[(k - 1) * m + (k - 1)]) > SCALE) {
        for (let i = 0; i < base.length; i++) base[i] /= SCALE;
        baseExp += SCALE_EXP;
      }
    }
  }
  let p = power![(k - 1) * m + (k - 1)];
  let exp = powerExp;
  for (let i = 1; i <= n; i++) {
    p = (i * p) / n;
    if (Math.abs(p) < 1 / SCALE) {
      p *= SCALE;
      exp -= SCALE_EXP;
    }
  }
  return clip01(p * 2 ** exp);
}

function matMul(a: Float64Array, b: Float64Array, m: number): Float64Array<ArrayBuffer> {
  const out = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    for (let l = 0; l < m; l++) {
      const ail = a[i * m + l];
      if (ail === 0) continue;
      const row = l * m;
      const o = i * m;
      for (let j = 0; j < m; j++) out[o + j] += ail * b[row + j];
    }
  }
  return out;
}

/**
 * Pelz & Good's (1976) expansion of P(D_n ≤ x) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2},
 * z = x√n, with each Kᵢ in its theta-function form that converges fast for small z.
 */
export function pelzGoodCdf(n: number, x: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const z = Math.sqrt(n) * x;
  const z2 = z * z;
  const z4 = z2 * z2;
  const z6 = z4 * z2;
  const pi2 = Math.PI ** 2;
  const pi4 = pi2 * pi2;
  const pi6 = pi4 * pi2;
  const qlog = -pi2 / 8 / z2;
  if (qlog < -708) return 0;
  const q = Math.exp(qlog);
  const maxk = Math.ceil((16 * z) / Math.PI);
  const K = [0, 0, 0, 0];
  // Σ_k over odd m = 2k − 1 of q^{m²}·(polynomials in m and z), nested from the largest k down.
  for (let k = maxk; k >= 1; k--) {
    const m = 2 * k - 1;
    const m2 = m * m;
    const m4 = m2 * m2;
    const m6 = m4 * m2;
    const qk = q ** (8 * k);
    const c = [
      1,
      -z2 + (pi2 / 4) * m2,
      6 * z6 + 2 * z4 + ((2 * z4 - 5 * z2) * pi2 / 4) * m2 + (pi4 * (1 - 2 * z2) / 16) * m4,
      (-30 * z6 - 90 * z6 * z2) + (pi2 * (135 * z4 - 96 * z6) / 4) * m2 + (pi4 * (-60 * z2 + 212 * z4) / 16) * m4 + (pi6 * (5 - 30 * z2) / 64) * m6,
    ];
    for (let i = 0; i < 4; i++) K[i] = K[i] * qk + c[i];
  }
  const sqrt2pi = Math.sqrt(2 * Math.PI);
  const denom = [z, 6 * z4, 72 * z6 * z, 6480 * z6 * z4];
  for (let i = 0; i < 4; i++) K[i] = (K[i] * q * sqrt2pi) / denom[i];
  const q2 = Math.exp(-pi2 / 2 / z2);
  let extra2 = 0;
  let extra3 = 0;
  const s3z = Math.sqrt(3) * z;
  for (let k = maxk; k >= 1; k--) {
    const k2 = k * k;
    const w = k2 * q2 ** k2;
    extra2 += w;
    extra3 += (s3z + Math.PI * k) * (s3z - Math.PI * k) * w;
  }
  K[2] += (extra2 * pi2 * sqrt2pi) / (-36 * z2 * z);
  K[3] += (extra3 * pi2 * sqrt2pi) / (216 * z6);
  return K[0] + K[1] / Math.sqrt(n) + K[2] / n + K[3] / n ** 1.5;
}
