/**
 * The HTTP server: the only place that knows HTTP. Control-plane routes (/v1) and the
 * inference endpoints (OIP /v2, records) are separate route groups over the same platform.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Platform } from '../platform.ts';
import { modelRoutes } from './routes/models.ts';
import { pipelineRoutes } from './routes/pipelines.ts';
import { logRoutes } from './routes/logs.ts';
import { assayRoutes } from './routes/assays.ts';
import { accessRoutes } from './routes/access.ts';
import { type AuthOptions, installAuth } from './auth.ts';
import { oipRoutes } from './routes/oip.ts';
import { recordsRoutes } from './routes/records.ts';
import { VERSION } from '../version.ts';
import { NAME_MAX_LENGTH } from '../registry/index.ts';
import { clientError, frameworkError, notFound, sendError } from './errors.ts';

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
    // Path parameters are names: a name that may be created can always be addressed.
    routerOptions: { maxParamLength: NAME_MAX_LENGTH },
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
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
      ],
    },
  });

  // Binary bodies (model artifacts, OIP binary tensors) arrive as Buffers.
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler(sendError);
  app.setNotFoundHandler(notFound);

  // Before the routes, so every route gets it: who is calling, may they, in which workspace; audit.
  installAuth(app, platform.access, opts);
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
