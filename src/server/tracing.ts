/**
 * Traces over HTTP and gRPC: one server span per request, continuing the caller's W3C
 * traceparent, made the active context for the handler (so the engine's spans are its
 * children). Installed only when tracing is on: otherwise no hook exists.
 */
import type { Context, Span } from '@opentelemetry/api';
import { context } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { toBettongError } from '../errors/index.ts';
import { endSpan, startServerSpan, tracingEnabled } from '../observability/tracing.ts';

declare module 'fastify' {
  interface FastifyRequest {
    trace: { span: Span; ctx: Context } | null;
  }
}

export function installTracing(app: FastifyInstance): void {
  if (!tracingEnabled()) return;
  app.decorateRequest('trace', null);
  app.addHook('onRequest', async (req, reply) => {
    const route = req.routeOptions.url ?? req.url;
    req.trace = startServerSpan(`${req.method} ${route}`, req.headers, {
      'http.request.method': req.method, 'http.route': route, 'url.path': req.url.split('?')[0],
    });
    // Every later log line of the request (handler, the one "request" line) carries its trace.
    const { traceId, spanId } = req.trace.span.spanContext();
    req.log = reply.log = req.log.child({ trace_id: traceId, span_id: spanId });
  });
  // Callback style on purpose: the handler runs inside `done`, so inside the request's context.
  app.addHook('preHandler', (req, _reply, done) => {
    if (req.trace) context.with(req.trace.ctx, done);
    else done();
  });
  app.addHook('onResponse', async (req, reply) => {
    if (!req.trace) return;
    const name = (req.params as { name?: string } | undefined)?.name;
    endSpan(req.trace.span, req.errorCode ?? null, {
      'http.response.status_code': reply.statusCode, ...(name !== undefined ? { 'bettong.pipeline': name } : {}),
    });
  });
}

/** Wraps a gRPC handler in a server span continuing the call's traceparent metadata. */
export function tracedGrpc<T, C>(method: string, fn: (req: any, ctx: C) => Promise<T>) {
  if (!tracingEnabled()) return (req: any, ctx: C, _metadata: Record<string, unknown>) => fn(req, ctx);
  return async (req: any, ctx: C, metadata: Record<string, unknown>): Promise<T> => {
    const { span, ctx: traceCtx } = startServerSpan(`inference.GRPCInferenceService/${method}`, metadata, {
      'rpc.system': 'grpc', 'rpc.service': 'inference.GRPCInferenceService', 'rpc.method': method,
      ...(typeof req?.model_name === 'string' ? { 'bettong.pipeline': req.model_name } : {}),
    });
    let code: string | null = null;
    try {
      return await context.with(traceCtx, () => fn(req, ctx));
    } catch (e) {
      code = toBettongError(e).code;
      throw e;
    } finally {
      endSpan(span, code);
    }
  };
}
