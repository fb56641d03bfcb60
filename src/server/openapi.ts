/**
 * The OpenAPI document served at /openapi.json: the shared schemas, the bearer security scheme, and
 * the answers every route can give besides its own (auth refusals, bad input, internal errors),
 * derived from what the route declares so the document says what the server does.
 */
import type { FastifyInstance, RouteOptions } from 'fastify';
import swagger, { type SwaggerTransform } from '@fastify/swagger';
import { isRead, isWorkspacePermission } from '../access/roles.ts';
import { VERSION } from '../version.ts';
import { WORKSPACE_HEADER } from './auth.ts';
import { documentNames, errors, sharedSchemas } from './schemas.ts';

/** Methods whose requests Fastify parses a body for: a malformed, oversized or unknown-typed one is refused. */
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export async function installOpenApi(app: FastifyInstance): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Bettong', version: VERSION, description: 'Bettong control plane and inference API. Errors are {"error": message, "code": stable code}.' },
      tags: [
        { name: 'models', description: 'Model registry' },
        { name: 'pipelines', description: 'Pipelines, versions and deployments' },
        { name: 'inference', description: 'Open Inference Protocol v2 and records inference' },
        { name: 'logs', description: 'Inference logs' },
        { name: 'assays', description: 'Drift monitoring: assays, their results and alerts' },
        { name: 'monitors', description: 'Ground truth and performance monitors: feedback labels, realised and estimated (CBPE) metrics per window' },
        { name: 'access', description: 'Workspaces, users, members, API tokens and the audit log' },
        { name: 'metrics', description: 'Prometheus metrics and recent pipeline traffic' },
      ],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'an API token (POST /v1/tokens); not needed in local mode (loopback, no --auth)' },
        },
      },
    },
    transform: ({ schema, url }) => ({ schema: documentNames(schema), url }),
    // Shared schemas keep their $id as their component name (#/components/schemas/Model).
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
  });
  for (const s of sharedSchemas()) app.addSchema(s);
  // Response schemas document; they do not filter. Fastify would otherwise serialize answers through them
  // (fast-json-stringify), silently dropping fields a schema does not list and coercing mismatched types.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addHook('onRoute', documentRoute);
}

/** Adds the security requirement, the workspace header and the shared error answers a route can give. */
function documentRoute(route: RouteOptions): void {
  const schema = route.schema;
  if (!schema || schema.hide) return;
  const permission = route.config?.permission ?? 'admin';
  const methods = [route.method].flat();
  const statuses = new Set([500]);
  if (schema.params || schema.querystring || schema.body || schema.headers) statuses.add(400);
  if (methods.some((m) => BODY_METHODS.has(m))) [400, 413, 415].forEach((s) => statuses.add(s));
  if (permission !== 'public') statuses.add(401);
  if (permission !== 'public' && permission !== 'authenticated') statuses.add(403);
  if (route.url.includes(':')) statuses.add(404);
  let headers = schema.headers;
  if (isWorkspacePermission(permission)) {
    statuses.add(404); // WORKSPACE_NOT_FOUND
    if (!isRead(permission) && permission !== 'workspace:write') statuses.add(409); // WORKSPACE_ARCHIVED
    if (!route.config?.workspaceParam) {
      const declared = (headers ?? { type: 'object', properties: {} }) as { properties?: Record<string, unknown> };
      headers = { ...declared, properties: { ...declared.properties, [WORKSPACE_HEADER]: workspaceHeader } };
    }
  }
  if (permission === 'infer') statuses.add(429);
  route.schema = {
    ...schema,
    ...(headers ? { headers } : {}),
    response: { ...errors(...statuses), ...(schema.response as object | undefined) },
    security: permission === 'public' ? [] : [{ bearer: [] }],
  };
}

const workspaceHeader = { type: 'string', description: "the workspace to act in (default: the token's own, else 'default')" } as const;

/**
 * Route config for a request body the handler parses itself (binary, or one of several formats): it is
 * documented here and not validated by Fastify, which would refuse the raw bytes the handler wants.
 */
export function documentedBody(content: Record<string, unknown>, description?: string): { swaggerTransform: SwaggerTransform } {
  const body = { content: Object.fromEntries(Object.entries(content).map(([type, s]) => [type, { schema: s }])), ...(description ? { description } : {}) };
  return { swaggerTransform: ({ schema, url }) => ({ schema: documentNames({ ...schema, body }), url }) };
}

/** A binary body or answer in the document. */
export const binary = { type: 'string', format: 'binary' } as const;
