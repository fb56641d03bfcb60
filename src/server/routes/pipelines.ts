/** Pipeline and deployment routes. */
import type { FastifyInstance } from 'fastify';
import type { StepRef } from '../../pipelines/index.ts';
import type { Platform } from '../../platform.ts';
import { nameParam, workspaceOf } from '../context.ts';

const createBody = {
  type: 'object',
  required: ['name', 'steps'],
  additionalProperties: false,
  properties: {
    name: { type: 'string' },
    steps: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['model'],
        additionalProperties: false,
        properties: { model: { type: 'string' }, version: { type: 'integer', minimum: 1 } },
      },
    },
  },
} as const;

const deployBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { type: 'integer', minimum: 1 },
    replicas: { type: 'integer', minimum: 1, maximum: 64 },
    threads: { type: 'integer', minimum: 1, maximum: 64 },
  },
} as const;

export const pipelineRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.post<{ Body: { name: string; steps: StepRef[] } }>('/v1/pipelines', {
    schema: { tags: ['pipelines'], summary: 'Create a pipeline, or a new version of it when the steps changed', body: createBody },
  }, async (req, reply) => {
    const { version, created } = await p.pipelines.create(workspaceOf(req), req.body.name, req.body.steps);
    return reply.status(created ? 201 : 200).send({ ...version, created });
  });

  app.get('/v1/pipelines', { schema: { tags: ['pipelines'], summary: 'List pipelines' } }, async (req) => ({
    pipelines: await p.pipelines.list(workspaceOf(req)),
  }));

  app.get<{ Params: { name: string } }>('/v1/pipelines/:name', {
    schema: { tags: ['pipelines'], summary: 'A pipeline: latest version and deployment', params: nameParam },
  }, async (req) => {
    const ws = workspaceOf(req);
    const versions = await p.pipelines.versions(ws, req.params.name);
    return { name: req.params.name, latest: versions.at(-1), versions: versions.length, deployment: await p.deployments.status(ws, req.params.name) };
  });

  app.get<{ Params: { name: string } }>('/v1/pipelines/:name/versions', {
    schema: { tags: ['pipelines'], summary: 'All versions of a pipeline', params: nameParam },
  }, async (req) => ({ versions: await p.pipelines.versions(workspaceOf(req), req.params.name) }));

  app.get<{ Params: { name: string; version: number } }>('/v1/pipelines/:name/versions/:version', {
    schema: {
      tags: ['pipelines'], summary: 'One pipeline version',
      params: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer', minimum: 1 } }, required: ['name', 'version'] },
    },
  }, async (req) => p.pipelines.getVersion(workspaceOf(req), req.params.name, req.params.version));

  app.post<{ Params: { name: string }; Body: { version?: number; replicas?: number; threads?: number } | undefined }>('/v1/pipelines/:name/deploy', {
    schema: { tags: ['pipelines'], summary: 'Deploy a pipeline version (the latest by default)', params: nameParam, body: deployBody },
  }, async (req) => p.deployments.deploy(workspaceOf(req), req.params.name, req.body ?? {}));

  app.post<{ Params: { name: string } }>('/v1/pipelines/:name/undeploy', {
    schema: { tags: ['pipelines'], summary: 'Undeploy a pipeline', params: nameParam },
  }, async (req) => p.deployments.undeploy(workspaceOf(req), req.params.name));

  app.get<{ Params: { name: string } }>('/v1/pipelines/:name/deployment', {
    schema: { tags: ['pipelines'], summary: 'Deployment status of a pipeline', params: nameParam },
  }, async (req) => p.deployments.status(workspaceOf(req), req.params.name));

  app.get('/v1/deployments', { schema: { tags: ['pipelines'], summary: 'List deployments' } }, async (req) => ({
    deployments: await p.deployments.list(workspaceOf(req)),
  }));
};
