/** A token bucket per key (per API token) in memory: `perSecond` refill, `burst` capacity. */

export interface RateLimitOptions {
  /** Sustained requests per second per token. */
  perSecond: number;
  /** Requests a token may make at once after being idle; defaults to perSecond (at least 1). */
  burst?: number;
}

interface Bucket { tokens: number; at: number }

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  readonly perSecond: number;
  readonly burst: number;

  constructor(opts: RateLimitOptions, private readonly now: () => number = performance.now.bind(performance)) {
    if (!(opts.perSecond > 0)) throw new Error(`rate limit must be a positive number of requests per second, got ${opts.perSecond}`);
    this.perSecond = opts.perSecond;
    this.burst = Math.max(1, opts.burst ?? Math.ceil(opts.perSecond));
  }

  /** Takes one request from the key's bucket: 0 when allowed, else the seconds until one is. */
  take(key: string): number {
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (this.buckets.size > 10_000 && !this.buckets.has(key)) this.sweep(now);
    this.buckets.set(key, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.perSecond;
  }

  /** Forgets buckets that have refilled: they hold nothing a fresh bucket would not. */
  private sweep(now: number): void {
    for (const [k, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(k);
    }
  }
}
