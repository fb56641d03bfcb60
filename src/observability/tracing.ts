/**
 * Request tracing through the OpenTelemetry API. Only `startTracing` (tracing-sdk.ts, loaded when
 * an OTEL_* exporter setting asks for it) installs the SDK; until then nothing here is called on
 * the request path and the API stays its no-op self. Spans made from the engine's own timings
 * (steps, batching waits, shadow challengers) are recorded after the fact with their real start
 * and end times, so replica threads need no tracing of their own.
 */
import { type Attributes, type Context, type Span, SpanKind, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import type { LiveDeployment } from '../deployments/index.ts';
import type { InferenceObserver } from '../inference/index.ts';
import type { RunResult, ShadowOutcome } from '../inference/runner.ts';

export const tracer = () => trace.getTracer('bettong');

let enabled = false;

/** Whether an exporter is installed (set once by tracing-sdk.ts). */
export const tracingEnabled = (): boolean => enabled;
export const markTracingEnabled = (): void => { enabled = true; };

/** The OTEL_* settings that turn tracing on: an OTLP endpoint, or an explicit traces exporter. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_TRACES_EXPORTER);
}

/** The trace and span ids of the active span, for log lines; empty when tracing is off. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  if (!enabled) return {};
  const sc = trace.getSpanContext(context.active());
  return sc ? { trace_id: sc.traceId, span_id: sc.spanId } : {};
}

/** Starts a transport's server span, continuing the caller's W3C traceparent from `carrier`. */
export function startServerSpan(name: string, carrier: Record<string, unknown>, attributes: Attributes): { span: Span; ctx: Context } {
  const parent = propagation.extract(context.active(), carrier);
  const span = tracer().startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
  return { span, ctx: trace.setSpan(parent, span) };
}

export function endSpan(span: Span, errorCode: string | null, attributes: Attributes = {}): void {
  span.setAttributes(attributes);
  if (errorCode) {
    span.setAttribute('bettong.error.code', errorCode);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
  }
  span.end();
}

const modelAttrs = (d: LiveDeployment): Attributes => ({ 'bettong.pipeline': d.name, 'bettong.pipeline.version': d.version.version, 'bettong.workspace.id': d.workspaceId });

/** Records the engine's run of a request under the active (request) span. */
export class TraceObserver implements InferenceObserver {
  inferred(d: LiveDeployment, rows: number, computeMs: number, run: RunResult): void {
    const end = performance.timeOrigin + performance.now();
    const t = tracer();
    const engine = t.startSpan(`pipeline ${d.name}`, { startTime: end - computeMs, attributes: { ...modelAttrs(d), 'bettong.rows': rows } });
    const ctx = trace.setSpan(context.active(), engine);
    if (run.batch) {
      const b = run.batch;
      t.startSpan('batch wait', { startTime: b.start, attributes: { 'bettong.batch.rows': b.sizes[0] ?? 0 } }, ctx).end(b.start + b.waitMs);
    }
    for (const s of run.timings ?? []) {
      t.startSpan(`step ${s.step} ${s.model}`, {
        startTime: s.start,
        attributes: { 'bettong.step': s.step, 'bettong.model': s.model, 'bettong.model.version': s.version, 'bettong.rows': s.rows },
      }, ctx).end(s.start + s.ms);
    }
    engine.end(end);
  }

  shadowsSettled(d: LiveDeployment, outcomes: ShadowOutcome[]): void {
    for (const s of outcomes) {
      if (s.start === undefined) continue;
      const span = tracer().startSpan(`shadow ${s.model}`, {
        startTime: s.start, attributes: { ...modelAttrs(d), 'bettong.step': s.step, 'bettong.model': s.model, 'bettong.model.version': s.version, 'bettong.shadow': true },
      });
      if (s.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: s.error });
      span.end(s.start + (s.ms ?? 0));
    }
  }

  logged(d: LiveDeployment, start: number, ms: number): void {
    tracer().startSpan('log enqueue', { startTime: start, attributes: modelAttrs(d) }).end(start + ms);
  }
}
