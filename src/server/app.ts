/**
 * The HTTP server: the only place that knows HTTP. Control-plane routes (/v1) and the
 * inference endpoints (OIP /v2, records) are separate route groups over the same platform.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { toBettongError } from '../errors/index.ts';
import type { Platform } from '../platform.ts';
import { type AuthOptions, Authorizer } from '../access/index.ts';
import { modelRoutes } from './routes/models.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { logRoutes } from './routes/logs.ts';
import { assayRoutes } from './routes/assays.ts';
import { monitorRoutes } from './routes/monitors.ts';
import { accessRoutes } from './routes/access.ts';
import { installAuth } from './auth.ts';
import { DataPlane, type ServerState } from './dataplane.ts';
import { type LogOptions, installRequestLog, loggerOptions, noteFailure } from './logging.ts';
import { oipRoutes } from './routes/oip.ts';
import { recordsRoutes } from './routes/records.ts';
import { schemaController } from './validation.ts';
import { installOpenApi } from './openapi.ts';
import { installNotFound } from './methods.ts';
import { NAME_MAX_LENGTH } from '../registry/index.ts';
import { clientError, frameworkError, sendError } from './errors.ts';
import { installRequestMetrics, metricsRoutes } from './metrics.ts';
import { installTracing } from './tracing.ts';
import { consoleRoutes } from './console.ts';

export type { ServerState } from './dataplane.ts';

export interface ServerOptions extends AuthOptions, LogOptions {
  /** Largest request body on every route but model upload (bytes). */
  bodyLimit?: number;
  /** Largest model artifact upload (bytes). */
  modelBodyLimit?: number;
}

/** What REST and gRPC share: one data plane and one authorizer (so one rate-limit bucket per token). */
export interface ServerCore {
  platform: Platform;
  state: ServerState;
  dataplane: DataPlane;
  authorizer: Authorizer;
}

export async function buildServer(platform: Platform, opts: ServerOptions = {}): Promise<{ app: FastifyInstance } & ServerCore> {
  const state: ServerState = { shuttingDown: false };
  const dataplane = new DataPlane(platform, state);
  const authorizer = new Authorizer(platform.access, opts);
  const app = Fastify({
    bodyLimit: opts.bodyLimit ?? 64 * 1024 * 1024,
    ...loggerOptions(opts),
    schemaController,
    // Path parameters are names: a name that may be created can always be addressed.
    routerOptions: { maxParamLength: NAME_MAX_LENGTH },
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  });

  const notFound = installNotFound(app);
  await installOpenApi(app);

  // Binary bodies (model artifacts, OIP binary tensors) arrive as Buffers.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err, req, reply) => {
    // No route matched, yet the body was refused first (e.g. QUERY without a Content-Type): say why there is no route.
    if (req.is404 && toBettongError(err).status < 500) return notFound(req, reply);
    sendError(err, req, reply);
  });

  installRequestLog(app);
  // Before the routes, so every route gets it: who is calling, may they, in which workspace; audit.
  installAuth(app, platform.access, authorizer);
  installRequestMetrics(app, platform);
  installTracing(app);
  await app.register(metricsRoutes(platform));
  await app.register(accessRoutes(platform));
  await app.register(modelRoutes(platform, opts.modelBodyLimit ?? 1024 * 1024 * 1024));
  await app.register(pipelineRoutes(platform));
  await app.register(logRoutes(platform));
  await app.register(assayRoutes(platform));
  await app.register(monitorRoutes(platform));
  await app.register(recordsRoutes(platform));
  await app.register(oipRoutes(dataplane));
  await app.register(consoleRoutes());
  app.get('/openapi.json', { config: { permission: 'public' }, schema: { hide: true } }, async () => app.swagger());
  return { app, platform, state, dataplane, authorizer };
}
