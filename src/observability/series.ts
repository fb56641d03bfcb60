/**
 * Counters and histograms for the inference hot path: each label set's series is plain numbers
 * the caller holds on to (no label validation or hashing per observation, as prom-client does
 * on every call: ~1 µs each, measured by bench/metrics.ts), handed to prom-client's registry at
 * scrape time in its own metric format, so the exposition is prom-client's.
 */
import type { Registry } from 'prom-client';

type Labels = Record<string, string>;

export interface CounterSeries { inc(n?: number): void }
export interface HistogramSeries { observe(v: number): void }

abstract class Family<S> {
  protected readonly series = new Map<string, { labels: Labels; s: S }>();

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly labelNames: readonly string[]) {
    registry.registerMetric(this as never);
  }

  /** The series of one label set (created on first use); keep it for the hot path. */
  of(labels: Labels): S {
    const key = this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
    let e = this.series.get(key);
    if (!e) this.series.set(key, (e = { labels: { ...labels }, s: this.create() }));
    return e.s;
  }

  protected abstract create(): S;

  // prom-client's Metric surface used by Registry.
  reset(): void { this.series.clear(); }
  get aggregator() { return 'sum' as const; }
}

export class FastCounter extends Family<CounterSeries & { value: number }> {
  readonly type = 'counter';

  protected create() {
    return { value: 0, inc(n = 1) { this.value += n; } };
  }

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: [...this.series.values()].map(({ labels, s }) => ({ labels, value: s.value })) };
  }
}

export class FastHistogram extends Family<HistogramSeries & { counts: Float64Array; sum: number; count: number }> {
  readonly type = 'histogram';

  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[], private readonly buckets: readonly number[]) {
    super(registry, name, help, labelNames);
  }

  protected create() {
    const buckets = this.buckets;
    return {
      counts: new Float64Array(buckets.length), sum: 0, count: 0,
      observe(v: number) {
        this.sum += v;
        this.count++;
        for (let i = 0; i < buckets.length; i++) if (v <= buckets[i]) { this.counts[i]++; break; }
      },
    };
  }

  async get() {
    const values: { labels: Labels; value: number; metricName: string }[] = [];
    for (const { labels, s } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += s.counts[i];
        values.push({ labels: { le: String(le), ...labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...labels }, value: s.count, metricName: `${this.name}_bucket` });
      values.push({ labels, value: s.sum, metricName: `${this.name}_sum` });
      values.push({ labels, value: s.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
