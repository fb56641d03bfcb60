/**
 * Metrics over HTTP: the onResponse hook that counts and times every inference request, the
 * Prometheus endpoint (`GET /metrics`), and a pipeline's recent-traffic summary in JSON
 * (`GET /v1/pipelines/{name}/metrics`) for the CLI and the console.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toBettongError } from '../errors/index.ts';
import type { Platform } from '../platform.ts';
import { WINDOW_S } from '../observability/recent.ts';
import { RANGES, type Range } from '../observability/timeline.ts';
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

const nullableNum = { type: ['number', 'null'] } as const;
const seriesSchema = {
  type: 'object',
  required: ['pipeline', 'range', 'step_s', 'points', 'in_flight', 'queued'],
  properties: {
    pipeline: { type: 'string' },
    range: { type: 'string', enum: Object.keys(RANGES) },
    step_s: { type: 'integer', description: 'seconds per point' },
    points: {
      type: 'array',
      description: 'oldest first, one per step, empty steps included',
      items: {
        type: 'object',
        required: ['t', 'requests_per_s', 'error_rate', 'rows_per_s', 'p50_ms', 'p95_ms', 'p99_ms'],
        properties: {
          t: { type: 'integer', description: 'step start, epoch ms' },
          requests_per_s: { type: 'number' }, error_rate: { type: 'number' }, rows_per_s: { type: 'number' },
          p50_ms: nullableNum, p95_ms: nullableNum, p99_ms: nullableNum,
        },
      },
    },
    in_flight: { type: 'array', items: { type: 'integer' }, description: 'requests running now, per replica (empty: not deployed)' },
    queued: { type: 'integer', description: 'requests waiting in the dynamic batcher now' },
  },
} as const;

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

  app.get<{ Params: { name: string }; Querystring: { range?: Range } }>('/v1/pipelines/:name/metrics/series', {
    config: { permission: 'pipeline:read' },
    schema: {
      tags: ['metrics'], params: nameParam,
      summary: "A pipeline's traffic over time for live charts: requests/s, error rate, rows/s, latency p50/p95/p99 (server time, ms) per step; in-flight requests per replica now",
      querystring: { type: 'object', properties: { range: { type: 'string', enum: Object.keys(RANGES), default: '15m' } } },
      response: { 200: seriesSchema },
    },
  }, async (req) => {
    const ws = workspaceOf(req);
    await p.pipelines.pipelineId(ws, req.params.name); // 404 for an unknown pipeline
    const range = req.query.range ?? '15m';
    const load = p.deployments.runningOne(ws, req.params.name)?.runner.load();
    return { pipeline: req.params.name, range, ...p.metrics.series(ws, req.params.name, range), in_flight: load ? [...load.inFlight] : [], queued: load?.queued ?? 0 };
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
