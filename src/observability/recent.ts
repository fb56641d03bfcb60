/**
 * A pipeline's recent traffic for the JSON summary (`/v1/pipelines/{name}/metrics`): requests,
 * errors and latencies over the last minutes, in fixed memory. Counts are exact per second; the
 * latency percentiles come from the newest `SAMPLES` requests of the window.
 */

/** How far back the summary can look. */
export const WINDOW_S = 300;
const SAMPLES = 4096;

interface Second {
  at: number;
  requests: number;
  errors: number;
}

export interface RecentSummary {
  window_s: number;
  requests: number;
  errors: number;
  requests_per_s: number;
  error_rate: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; samples: number };
}

export class RecentTraffic {
  private readonly seconds: Second[] = Array.from({ length: WINDOW_S }, () => ({ at: -1, requests: 0, errors: 0 }));
  private readonly times = new Float64Array(SAMPLES);
  private readonly latencies = new Float64Array(SAMPLES);
  private next = 0;
  private filled = 0;

  constructor(private readonly now: () => number = Date.now) {}

  add(latencyMs: number, ok: boolean): void {
    const t = this.now();
    const sec = Math.floor(t / 1000);
    const slot = this.seconds[sec % WINDOW_S];
    if (slot.at !== sec) Object.assign(slot, { at: sec, requests: 0, errors: 0 });
    slot.requests++;
    if (!ok) slot.errors++;
    this.times[this.next] = t;
    this.latencies[this.next] = latencyMs;
    this.next = (this.next + 1) % SAMPLES;
    this.filled = Math.min(SAMPLES, this.filled + 1);
  }

  /** The last `windowS` seconds (at most WINDOW_S), the current second included. */
  summary(windowS: number): RecentSummary {
    const w = Math.max(1, Math.min(WINDOW_S, Math.floor(windowS)));
    const t = this.now();
    const nowSec = Math.floor(t / 1000);
    let requests = 0;
    let errors = 0;
    for (const s of this.seconds) {
      if (s.at > nowSec - w && s.at <= nowSec) {
        requests += s.requests;
        errors += s.errors;
      }
    }
    const since = (nowSec - w + 1) * 1000;
    const recent: number[] = [];
    for (let i = 0; i < this.filled; i++) if (this.times[i] >= since) recent.push(this.latencies[i]);
    recent.sort((a, b) => a - b);
    // Nearest rank: the smallest sample with at least q of the samples at or below it.
    const q = (p: number) => (recent.length ? round(recent[Math.min(recent.length - 1, Math.ceil(p * recent.length) - 1)]) : null);
    return {
      window_s: w, requests, errors,
      requests_per_s: round(requests / w), error_rate: requests ? round(errors / requests) : 0,
      latency_ms: { p50: q(0.5), p95: q(0.95), p99: q(0.99), samples: recent.length },
    };
  }
}

const round = (x: number) => Math.round(x * 1000) / 1000;
