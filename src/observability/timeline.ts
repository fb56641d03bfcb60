/**
 * A pipeline's traffic over the last day, for the console's live charts
 * (`GET /v1/pipelines/{name}/metrics/series`): requests, errors, rows and a latency histogram per
 * time bucket, in two fixed rings (10-second buckets for the last hour, 1-minute buckets for the
 * last day), so memory stays bounded whatever the traffic. Percentiles come from log-spaced
 * latency buckets (±12%), which is what a chart needs; the exact recent figures are recent.ts's.
 */

export const RANGES = { '15m': 15 * 60, '1h': 3600, '24h': 86400 } as const;
export type Range = keyof typeof RANGES;

// Latency buckets: 0.05 ms × 1.25^k, k < 64 (up to ~80 s); the last also holds anything slower.
const BASE_MS = 0.05;
const GROWTH = 1.25;
const LAT_BUCKETS = 64;
const latencyBucket = (ms: number) => Math.max(0, Math.min(LAT_BUCKETS - 1, Math.ceil(Math.log(Math.max(ms, BASE_MS) / BASE_MS) / Math.log(GROWTH))));

export interface TimelinePoint {
  /** Bucket start, epoch ms. */
  t: number;
  requests_per_s: number;
  error_rate: number;
  rows_per_s: number;
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
}

class Ring {
  private readonly at: Float64Array;
  private readonly counts: Float64Array; // per bucket: requests, errors, rows
  private readonly latency: Uint32Array;

  constructor(readonly stepS: number, readonly size: number) {
    this.at = new Float64Array(size).fill(-1);
    this.counts = new Float64Array(size * 3);
    this.latency = new Uint32Array(size * LAT_BUCKETS);
  }

  private slot(t: number): number {
    const b = Math.floor(t / 1000 / this.stepS);
    const i = b % this.size;
    if (this.at[i] !== b) {
      this.at[i] = b;
      this.counts.fill(0, i * 3, i * 3 + 3);
      this.latency.fill(0, i * LAT_BUCKETS, (i + 1) * LAT_BUCKETS);
    }
    return i;
  }

  request(t: number, latencyMs: number, ok: boolean): void {
    const i = this.slot(t);
    this.counts[i * 3]++;
    if (!ok) this.counts[i * 3 + 1]++;
    this.latency[i * LAT_BUCKETS + latencyBucket(latencyMs)]++;
  }

  rows(t: number, n: number): void {
    this.counts[this.slot(t) * 3 + 2] += n;
  }

  /** Every bucket of the last `spanS` seconds, oldest first, empty ones included (a chart's x axis is continuous). */
  points(now: number, spanS: number): TimelinePoint[] {
    const last = Math.floor(now / 1000 / this.stepS);
    const n = Math.min(this.size, Math.ceil(spanS / this.stepS));
    const out: TimelinePoint[] = [];
    for (let b = last - n + 1; b <= last; b++) {
      const i = b % this.size;
      const live = this.at[i] === b;
      const requests = live ? this.counts[i * 3] : 0;
      const q = (p: number) => (live && requests ? this.quantile(i, requests, p) : null);
      out.push({
        t: b * this.stepS * 1000,
        requests_per_s: round(requests / this.stepS),
        error_rate: requests ? round((live ? this.counts[i * 3 + 1] : 0) / requests) : 0,
        rows_per_s: round((live ? this.counts[i * 3 + 2] : 0) / this.stepS),
        p50_ms: q(0.5), p95_ms: q(0.95), p99_ms: q(0.99),
      });
    }
    return out;
  }

  private quantile(i: number, total: number, p: number): number {
    const want = Math.ceil(p * total);
    let seen = 0;
    for (let k = 0; k < LAT_BUCKETS; k++) {
      seen += this.latency[i * LAT_BUCKETS + k];
      // The bucket's geometric middle: within ±12% of any value in it.
      if (seen >= want) return round(BASE_MS * GROWTH ** (k - 0.5));
    }
    return round(BASE_MS * GROWTH ** (LAT_BUCKETS - 1));
  }
}

export class Timeline {
  private readonly hour = new Ring(10, 360);
  private readonly day = new Ring(60, 1440);

  constructor(private readonly now: () => number = Date.now) {}

  request(latencyMs: number, ok: boolean): void {
    const t = this.now();
    this.hour.request(t, latencyMs, ok);
    this.day.request(t, latencyMs, ok);
  }

  rows(n: number): void {
    const t = this.now();
    this.hour.rows(t, n);
    this.day.rows(t, n);
  }

  series(range: Range): { step_s: number; points: TimelinePoint[] } {
    const ring = RANGES[range] <= 3600 ? this.hour : this.day;
    return { step_s: ring.stepS, points: ring.points(this.now(), RANGES[range]) };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
