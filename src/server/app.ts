/**
 * The HTTP server: the only place that knows HTTP. Control-plane routes (/v1) and the
 * inference endpoints (OIP /v2, records) are separate route groups over the same platform.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import { toBettongError } from '../errors/index.ts';
import type { Platform } from '../platform.ts';
import { modelRoutes } from './routes/models.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { logRoutes } from './routes/logs.ts';
import { assayRoutes } from './routes/assays.ts';
import { accessRoutes } from './routes/access.ts';
import { type AuthOptions, installAuth } from './auth.ts';
import { oipRoutes } from './routes/oip.ts';
import { recordsRoutes } from './routes/records.ts';
import { installRequestMetrics, metricsRoutes } from './metrics.ts';
import { installTracing } from './tracing.ts';
import { VERSION } from '../version.ts';

export interface ServerOptions extends AuthOptions {
  /** Largest request body on every route but model upload (bytes). */
  bodyLimit?: number;
  /** Largest model artifact upload (bytes). */
  modelBodyLimit?: number;
  logRequests?: boolean;
}

export interface ServerState {
  shuttingDown: boolean;
}

export async function buildServer(platform: Platform, opts: ServerOptions = {}): Promise<{ app: FastifyInstance; state: ServerState }> {
  const state: ServerState = { shuttingDown: false };
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024,
    logger: opts.logRequests ? { level: 'info' } : false,
    ajv: { customOptions: { coerceTypes: true, removeAdditional: false } },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Bettong', version: VERSION, description: 'Bettong control plane and inference API' },
      tags: [
        { name: 'models', description: 'Model registry' },
        { name: 'pipelines', description: 'Pipelines, versions and deployments' },
        { name: 'inference', description: 'Open Inference Protocol v2 and records inference' },
        { name: 'logs', description: 'Inference logs' },
        { name: 'assays', description: 'Drift monitoring: assays, their results and alerts' },
        { name: 'access', description: 'Workspaces, users, members, API tokens and the audit log' },
        { name: 'metrics', description: 'Prometheus metrics and recent pipeline traffic' },
      ],
    },
  });

  // Binary bodies (model artifacts, OIP binary tensors) arrive as Buffers.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    const e = toBettongError(err);
    if (e.status >= 500) req.log.error(err);
    const message = e.code === 'UNSUPPORTED_MEDIA_TYPE' && !e.message.includes("'")
      ? `content type '${req.headers['content-type']}' is not accepted here; send application/json (or application/octet-stream where binary is expected)`
      : e.message;
    void reply.status(e.status).send({ error: message, code: e.code });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: `no route ${req.method} ${req.url}`, code: 'ROUTE_NOT_FOUND' });
  });

  // Before the routes, so every route gets it: who is calling, may they, in which workspace; audit.
  installAuth(app, platform.access, opts);
  installRequestMetrics(app, platform);
  installTracing(app);
  await app.register(metricsRoutes(platform));
  await app.register(accessRoutes(platform));
  await app.register(modelRoutes(platform, opts.modelBodyLimit ?? 1024 * 1024 * 1024));
  await app.register(pipelineRoutes(platform));
  await app.register(logRoutes(platform));
  await app.register(assayRoutes(platform));
  await app.register(recordsRoutes(platform));
  await app.register(oipRoutes(platform, state));
  app.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () => app.swagger());
  return { app, state };
}
