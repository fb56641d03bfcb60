/** Model registry routes. */
import type { FastifyInstance } from 'fastify';
import type { Platform } from '../../platform.ts';
import { runtimeNames } from '../../runtimes/index.ts';
import { noteAudit } from '../auth.ts';
import { nameParam, workspaceOf } from '../context.ts';
import { binary, documentedBody } from '../openapi.ts';
import { errors, listOf, newName, ref } from '../schemas.ts';

const versionParams = {
  type: 'object',
  properties: { name: { type: 'string' }, version: { type: 'integer', minimum: 1 } },
  required: ['name', 'version'],
} as const;

export const modelRoutes = (p: Platform, uploadLimit: number) => async (app: FastifyInstance) => {
  app.post<{ Params: { name: string }; Querystring: { runtime: string; network: boolean }; Body: Buffer }>('/v1/models/:name', {
    config: { permission: 'model:write', audit: 'model.upload', ...documentedBody({ 'application/octet-stream': binary }, 'the artifact file') },
    bodyLimit: uploadLimit,
    schema: {
      tags: ['models'],
      summary: 'Upload a model artifact as a new version (an ONNX file; a JavaScript/TypeScript module with ?runtime=js; a Python model.py, .zip/.tar.gz or pickled scikit-learn estimator with ?runtime=python); identical content returns the existing version',
      params: { type: 'object', properties: { name: newName }, required: ['name'] },
      querystring: {
        type: 'object',
        properties: {
          runtime: { type: 'string', enum: runtimeNames(), default: 'onnx' },
          network: { type: 'boolean', default: false, description: 'custom code (js, python) may open network connections (recorded in the audit log)' },
        },
      },
      response: {
        201: { description: 'a new version', ...ref('ModelVersion') },
        200: { description: 'identical content: the existing version', ...ref('ModelVersion') },
        202: { description: 'a new version whose environment is building (GET .../build says when it is ready)', ...ref('ModelVersion') },
        ...errors(422, 503, 507), // 503, 507: the data directory failed or is full; 503 also: no sandbox for custom code
      },
    },
  }, async (req, reply) => {
    const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const { version, created } = await p.registry.upload(workspaceOf(req), req.params.name, body, req.query.runtime, { network: req.query.network });
    noteAudit(req, { detail: { version: version.version, sha256: version.sha256, created, runtime: version.runtime, network: version.network } });
    // 202: a Python model's environment is being built; GET .../build says when it is ready.
    return reply.status(version.status === 'building' ? 202 : created ? 201 : 200).send({ ...version, created });
  });

  app.get('/v1/models', { config: { permission: 'model:read' }, schema: { tags: ['models'], summary: 'List models', response: { 200: listOf('models', ref('ModelSummary')) } } }, async (req) => ({
    models: await p.registry.list(workspaceOf(req)),
  }));

  app.get<{ Params: { name: string } }>('/v1/models/:name', {
    config: { permission: 'model:read' },
    schema: { tags: ['models'], summary: 'A model with its versions and signatures', params: nameParam, response: { 200: ref('Model') } },
  }, async (req) => p.registry.get(workspaceOf(req), req.params.name));

  app.get<{ Params: { name: string; version: number } }>('/v1/models/:name/versions/:version', {
    config: { permission: 'model:read' },
    schema: { tags: ['models'], summary: 'One model version', params: versionParams, response: { 200: ref('ModelVersion') } },
  }, async (req) => p.registry.getVersion(workspaceOf(req), req.params.name, req.params.version));

  app.get<{ Params: { name: string; version: number } }>('/v1/models/:name/versions/:version/build', {
    config: { permission: 'model:read' },
    schema: { tags: ['models'], summary: "A model version's environment build (requirements.txt): status (building, ready, failed) and log", params: versionParams, response: { 200: ref('ModelBuild') } },
  }, async (req) => p.registry.build(workspaceOf(req), req.params.name, req.params.version));

  app.get<{ Params: { name: string; version: number } }>('/v1/models/:name/versions/:version/artifact', {
    config: { permission: 'model:read' },
    schema: {
      tags: ['models'], summary: 'Download a model version artifact', params: versionParams,
      response: { 200: { description: 'the artifact as uploaded', content: { 'application/octet-stream': { schema: binary } } } },
    },
  }, async (req, reply) => {
    const v = await p.registry.getVersion(workspaceOf(req), req.params.name, req.params.version);
    return reply
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${v.model}-v${v.version}.${({ js: 'ts', python: 'python' } as Record<string, string>)[v.runtime] ?? 'onnx'}"`)
      .header('x-bettong-sha256', v.sha256)
      .send(await p.registry.artifactStream(v));
  });
};
