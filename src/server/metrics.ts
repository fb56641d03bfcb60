/**
 * Metrics over HTTP: the onResponse hook that counts and times every inference request, the
 * Prometheus endpoint (`GET /metrics`), and a pipeline's recent-traffic summary in JSON
 * (`GET /v1/pipelines/{name}/metrics`) for the CLI and the console.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toBettongError } from '../errors/index.ts';
import type { Platform } from '../platform.ts';
import { WINDOW_S } from '../observability/recent.ts';
import { DEFAULT_WORKSPACE_ID } from '../store/index.ts';
import { nameParam, workspaceOf } from './context.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The stable code of the error the request ended with, for the request counters. */
    errorCode: string | null;
  }
}

/** Counts and times every request to a route that needs `infer` (OIP and records inference). */
export function installRequestMetrics(app: FastifyInstance, p: Platform): void {
  app.decorateRequest('errorCode', null);
  app.addHook('onError', async (req, _reply, err) => {
    req.errorCode = toBettongError(err).code;
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.routeOptions.config.permission !== 'infer') return;
    const workspaceId = req.access?.workspace?.id ?? null;
    const name = (req.params as { name?: string }).name;
    // Only a deployed pipeline's name becomes a label: any other name is a caller's value.
    const pipeline = workspaceId !== null && name !== undefined && p.deployments.runningOne(workspaceId, name) ? name : null;
    const code = req.errorCode ?? (reply.statusCode >= 400 ? `HTTP_${reply.statusCode}` : null);
    p.metrics.request({ workspaceId, pipeline, protocol: 'rest', code, seconds: reply.elapsedTime / 1000 });
  });
}

const summarySchema = {
  type: 'object',
  properties: {
    pipeline: { type: 'string' },
    window_s: { type: 'integer' },
    requests: { type: 'integer' },
    errors: { type: 'integer' },
    requests_per_s: { type: 'number' },
    error_rate: { type: 'number' },
    latency_ms: {
      type: 'object',
      properties: { p50: { type: 'number', nullable: true }, p95: { type: 'number', nullable: true }, p99: { type: 'number', nullable: true }, samples: { type: 'integer' } },
    },
  },
} as const;

export const metricsRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.get('/metrics', {
    config: { permission: 'metrics' },
    schema: {
      tags: ['metrics'], summary: 'Prometheus metrics (text exposition format)',
      response: { 200: { description: 'the metrics, Prometheus text format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } },
    },
  }, scrape(p));

  app.get<{ Params: { name: string }; Querystring: { window?: number } }>('/v1/pipelines/:name/metrics', {
    config: { permission: 'pipeline:read' },
    schema: {
      tags: ['metrics'], params: nameParam,
      summary: "A pipeline's recent traffic: requests per second, error rate and latency percentiles (server time, ms)",
      querystring: { type: 'object', properties: { window: { type: 'integer', minimum: 1, maximum: WINDOW_S, default: 60 } } },
      response: { 200: summarySchema },
    },
  }, async (req) => {
    const ws = workspaceOf(req);
    await p.pipelines.pipelineId(ws, req.params.name); // 404 for an unknown pipeline
    return { pipeline: req.params.name, ...p.metrics.summary(ws, req.params.name, req.query.window ?? 60) };
  });
};

function scrape(p: Platform) {
  return async (_req: FastifyRequest, reply: FastifyReply) => {
    const { contentType, body } = await p.metrics.scrape();
    return reply.header('content-type', contentType).send(body);
  };
}

/** `--metrics-port`: /metrics alone, without a token, on a loopback address (a local Prometheus or agent scrapes it). */
export const metricsOnlyRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.get('/metrics', scrape(p));
};

/** Counts and times gRPC ModelInfer calls as the REST hook does, in the caller's workspace. */
export function observeGrpcInfer<T, C extends { workspaceId: number }>(p: Platform, fn: (req: any, ctx: C) => Promise<T>) {
  return async (req: { model_name?: string }, ctx: C): Promise<T> => {
    const started = performance.now();
    let code: string | null = null;
    let ws = DEFAULT_WORKSPACE_ID;
    try {
      ws = ctx.workspaceId;
      return await fn(req, ctx);
    } catch (e) {
      code = toBettongError(e).code;
      throw e;
    } finally {
      const pipeline = req.model_name && p.deployments.runningOne(ws, req.model_name) ? req.model_name : null;
      p.metrics.request({ workspaceId: ws, pipeline, protocol: 'grpc', code, seconds: (performance.now() - started) / 1000 });
    }
  };
}
