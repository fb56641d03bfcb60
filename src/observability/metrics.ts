/**
 * Prometheus metrics (prom-client): one registry per platform, fed at the named points of the
 * request and inference lifecycle (the HTTP/gRPC hooks, the engine's run, the log writer, the
 * assay scheduler and alert delivery) through the small observer interfaces those modules
 * declare. Names follow Prometheus practice (base units, `_total` counters) and the peers'
 * vocabulary (Triton's nv_inference_request_*, compute and queue durations, KServe's
 * request_predict_seconds). Labels are bounded: workspace ids, deployed pipeline names, step
 * numbers, model and rule names, error codes; never request ids or user values.
 */
import client from 'prom-client';
import type { DeploymentService, LiveDeployment } from '../deployments/index.ts';
import type { InferenceObserver } from '../inference/index.ts';
import type { RunResult, ShadowOutcome } from '../inference/runner.ts';
import type { LogWriterMetrics } from '../logs/writer.ts';
import type { AssayMetrics } from '../monitoring/scheduler.ts';
import type { DeliveryMetrics, DeliveryOutcome } from '../monitoring/alerts.ts';
import { RecentTraffic, type RecentSummary } from './recent.ts';
import { type Range, Timeline } from './timeline.ts';
import { type CounterSeries, FastCounter, FastHistogram, type HistogramSeries } from './series.ts';

const SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const ROWS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

export type Protocol = 'rest' | 'grpc';

/** One inference request as a transport saw it. */
export interface RequestObservation {
  workspaceId: number | null;
  /** The pipeline, or null when it is not deployed (its name is then a user value, not a label). */
  pipeline: string | null;
  protocol: Protocol;
  /** The error code, or null on success. */
  code: string | null;
  seconds: number;
}

const pipelineLabels = (d: LiveDeployment) => ({ workspace_id: String(d.workspaceId), pipeline: d.name });

/** The hot-path series one deployment writes to, resolved once. */
interface DeploymentSeries {
  rows: CounterSeries;
  compute: HistogramSeries;
  /** Made on the first batched run, so deployments without batching export no empty series. */
  batch?: { rows: HistogramSeries; wait: HistogramSeries };
  steps: Map<string, HistogramSeries>;
}

export class Metrics implements InferenceObserver, LogWriterMetrics, AssayMetrics, DeliveryMetrics {
  readonly registry = new client.Registry();
  private readonly recent = new Map<string, RecentTraffic>();
  private readonly timelines = new Map<string, Timeline>();
  private noTraffic: Timeline | undefined;
  private readonly assayStatus = new Map<number, string>();

  // Per request: kept as plain numbers (series.ts), read by the registry at scrape time.
  private readonly requests = new FastCounter(this.registry, 'bettong_inference_requests_total', 'Inference requests by outcome (success, failure) and error code', ['workspace_id', 'pipeline', 'protocol', 'outcome', 'code']);
  private readonly requestSeconds = new FastHistogram(this.registry, 'bettong_inference_request_duration_seconds', 'Server time of an inference request, from its arrival to the answer (decoding and encoding included)', ['workspace_id', 'pipeline', 'protocol'], SECONDS);
  private readonly computeSeconds = new FastHistogram(this.registry, 'bettong_inference_compute_duration_seconds', 'Time the engine spent running the pipeline for a request (batching wait included)', ['workspace_id', 'pipeline'], SECONDS);
  private readonly rows = new FastCounter(this.registry, 'bettong_inference_rows_total', 'Rows inferred (Triton: nv_inference_count)', ['workspace_id', 'pipeline']);
  private readonly batchRows = new FastHistogram(this.registry, 'bettong_inference_batch_size_rows', 'Rows per pipeline run behind the dynamic batcher (one observation per run)', ['workspace_id', 'pipeline'], ROWS);
  private readonly batchWait = new FastHistogram(this.registry, 'bettong_inference_queue_duration_seconds', 'Time a request waited in the dynamic batcher for company', ['workspace_id', 'pipeline'], SECONDS);
  private readonly stepSeconds = new FastHistogram(this.registry, 'bettong_inference_step_duration_seconds', 'Time of one model call of a pipeline step', ['workspace_id', 'pipeline', 'step', 'model'], SECONDS);
  private readonly byRequest = new Map<string, { count: CounterSeries; seconds: HistogramSeries; traffic: RecentTraffic | null; timeline: Timeline | null }>();
  private readonly byDeployment = new WeakMap<LiveDeployment, DeploymentSeries>();
  // Rare events: prom-client's own metrics.
  private readonly shadowErrors = this.counter('bettong_shadow_challenger_errors_total', 'Shadow challengers that failed or timed out', ['workspace_id', 'pipeline', 'step', 'model']);
  private readonly validationFailures = this.counter('bettong_validation_failures_total', 'Rows that broke a validation rule', ['workspace_id', 'pipeline', 'rule']);
  private readonly logFlushSeconds = this.histogram('bettong_inference_log_flush_duration_seconds', 'Time to write one batch of inference log rows', [], SECONDS);
  private readonly logRows = this.counter('bettong_inference_log_rows_written_total', 'Inference log rows written to the store', []);
  private readonly logFailures = this.counter('bettong_inference_log_write_failures_total', 'Inference log writes that failed (their rows are kept and retried)', []);
  private readonly assayRuns = this.counter('bettong_assay_runs_total', 'Assay windows computed, by resulting status', ['assay_id', 'assay', 'status']);
  private readonly assayScore = new client.Gauge({ name: 'bettong_assay_last_score', help: 'Score of the last window an assay computed', labelNames: ['assay_id', 'assay'], registers: [this.registry] });
  private readonly assayState = new client.Gauge({ name: 'bettong_assay_status', help: "1 for the status of an assay's last window (ok, warning, alert, no_data), 0 for the others it had", labelNames: ['assay_id', 'assay', 'status'], registers: [this.registry] });
  private readonly deliveries = this.counter('bettong_webhook_deliveries_total', 'Alert webhook delivery attempts by outcome (delivered, retried, failed)', ['outcome']);

  constructor(opts: { process?: boolean } = {}) {
    // Process metrics: CPU, memory, heap, event-loop lag, GC (process_* and nodejs_*, as every Node exporter names them).
    if (opts.process !== false) client.collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges read at scrape time, so the request path pays nothing for them. */
  watch(deployments: DeploymentService, logBacklog: () => number): void {
    new client.Gauge({
      name: 'bettong_inference_queue_depth', help: 'Requests waiting in the dynamic batcher', labelNames: ['workspace_id', 'pipeline'], registers: [this.registry],
      collect() {
        this.reset();
        for (const d of deployments.running()) this.set(pipelineLabels(d), d.runner.load().queued);
      },
    });
    new client.Gauge({
      name: 'bettong_inference_in_flight', help: 'Requests running, per replica (replica 0 is the server thread when a deployment has no replicas)',
      labelNames: ['workspace_id', 'pipeline', 'replica'], registers: [this.registry],
      collect() {
        this.reset();
        for (const d of deployments.running()) d.runner.load().inFlight.forEach((n, i) => this.set({ ...pipelineLabels(d), replica: String(i) }, n));
      },
    });
    new client.Gauge({
      name: 'bettong_inference_log_backlog_rows', help: 'Inference log rows accepted but not yet written', registers: [this.registry],
      collect() { this.set(logBacklog()); },
    });
  }

  // --- transports ---

  request(o: RequestObservation): void {
    const key = `${o.workspaceId}|${o.pipeline}|${o.protocol}|${o.code}`;
    let s = this.byRequest.get(key);
    if (!s) {
      const labels = { workspace_id: o.workspaceId === null ? '' : String(o.workspaceId), pipeline: o.pipeline ?? '', protocol: o.protocol };
      s = {
        count: this.requests.of({ ...labels, outcome: o.code ? 'failure' : 'success', code: o.code ?? '' }),
        seconds: this.requestSeconds.of(labels),
        traffic: o.pipeline !== null && o.workspaceId !== null ? this.traffic(o.workspaceId, o.pipeline) : null,
        timeline: o.pipeline !== null && o.workspaceId !== null ? this.timeline(o.workspaceId, o.pipeline) : null,
      };
      this.byRequest.set(key, s);
    }
    s.count.inc();
    s.seconds.observe(o.seconds);
    s.traffic?.add(o.seconds * 1000, o.code === null);
    s.timeline?.request(o.seconds * 1000, o.code === null);
  }

  private timeline(workspaceId: number, pipeline: string): Timeline {
    const k = `${workspaceId}/${pipeline}`;
    let t = this.timelines.get(k);
    if (!t) this.timelines.set(k, (t = new Timeline()));
    return t;
  }

  /** A pipeline's requests/s, error rate, rows/s and latency percentiles per time bucket over `range`. */
  series(workspaceId: number, pipeline: string, range: Range) {
    return (this.timelines.get(`${workspaceId}/${pipeline}`) ?? (this.noTraffic ??= new Timeline())).series(range);
  }

  private traffic(workspaceId: number, pipeline: string): RecentTraffic {
    const k = `${workspaceId}/${pipeline}`;
    let t = this.recent.get(k);
    if (!t) this.recent.set(k, (t = new RecentTraffic()));
    return t;
  }

  /** Requests, error rate and latency percentiles of a pipeline over the last `windowS` seconds. */
  summary(workspaceId: number, pipeline: string, windowS: number): RecentSummary {
    return (this.recent.get(`${workspaceId}/${pipeline}`) ?? new RecentTraffic()).summary(windowS);
  }

  // --- the engine ---

  private seriesOf(d: LiveDeployment): DeploymentSeries {
    let s = this.byDeployment.get(d);
    if (!s) {
      const labels = pipelineLabels(d);
      s = { rows: this.rows.of(labels), compute: this.computeSeconds.of(labels), steps: new Map() };
      this.byDeployment.set(d, s);
    }
    return s;
  }

  inferred(d: LiveDeployment, rows: number, computeMs: number, run: RunResult, anomalies: string[][]): void {
    const s = this.seriesOf(d);
    s.rows.inc(rows);
    this.timeline(d.workspaceId, d.name).rows(rows);
    s.compute.observe(computeMs / 1000);
    for (const t of run.timings ?? []) {
      const key = `${t.step}|${t.model}`;
      let step = s.steps.get(key);
      if (!step) s.steps.set(key, (step = this.stepSeconds.of({ ...pipelineLabels(d), step: String(t.step), model: t.model })));
      step.observe(t.ms / 1000);
    }
    if (run.batch) {
      s.batch ??= { rows: this.batchRows.of(pipelineLabels(d)), wait: this.batchWait.of(pipelineLabels(d)) };
      s.batch.wait.observe(run.batch.waitMs / 1000);
      for (const n of run.batch.sizes) s.batch.rows.observe(n);
    }
    for (const broken of anomalies) for (const rule of broken) this.validationFailures.inc({ ...pipelineLabels(d), rule });
  }

  shadowsSettled(d: LiveDeployment, outcomes: ShadowOutcome[]): void {
    for (const s of outcomes) if (s.error !== undefined) this.shadowErrors.inc({ ...pipelineLabels(d), step: String(s.step), model: s.model });
  }

  // --- the inference log writer ---

  logFlushed(rows: number, ms: number): void {
    this.logRows.inc(rows);
    this.logFlushSeconds.observe(ms / 1000);
  }

  logFlushFailed(): void {
    this.logFailures.inc();
  }

  // --- assays and alerts ---

  assayRan(assayId: number, assay: string, status: string, score: number | null): void {
    const labels = { assay_id: String(assayId), assay };
    this.assayRuns.inc({ ...labels, status });
    if (score !== null && Number.isFinite(score)) this.assayScore.set(labels, score);
    const before = this.assayStatus.get(assayId);
    if (before && before !== status) this.assayState.set({ ...labels, status: before }, 0);
    this.assayState.set({ ...labels, status }, 1);
    this.assayStatus.set(assayId, status);
  }

  delivery(outcome: DeliveryOutcome): void {
    this.deliveries.inc({ outcome });
  }

  /** The exposition text and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[]) {
    return new client.Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: L[], buckets: number[]) {
    return new client.Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
