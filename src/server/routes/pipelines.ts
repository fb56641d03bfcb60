/** Pipeline and deployment routes. */
import type { FastifyInstance } from 'fastify';
import type { PipelineSpec } from '../../pipelines/index.ts';
import type { DeploymentConfig, SwapRequest } from '../../deployments/index.ts';
import type { Platform } from '../../platform.ts';
import { noteAudit } from '../auth.ts';
import { nameParam, workspaceOf } from '../context.ts';
import { errors, listOf, modelName, newName, ref } from '../schemas.ts';

const modelRef = {
  type: 'object',
  required: ['model'],
  properties: { model: modelName, version: { type: 'integer', minimum: 1 } },
} as const;

const arm = { ...modelRef, properties: { ...modelRef.properties, weight: { type: 'number', exclusiveMinimum: 0, description: 'relative weight for random splits (default 1)' } } } as const;
const stepSpec = {
  anyOf: [
    modelRef,
    {
      type: 'object', required: ['ab'],
      properties: {
        ab: {
          type: 'object', required: ['arms'],
          properties: {
            arms: { type: 'array', minItems: 2, items: arm },
            split: { type: 'string', enum: ['random', 'key'] },
            key: { type: 'string', pattern: '^(metadata|in)\\..+', description: 'metadata.<name> or in.<input>' },
            mapping: { type: 'object', additionalProperties: { type: 'string' }, description: 'key split: key value -> arm (model or model:version)' },
            default: { type: 'string', description: 'key split: the arm for values not in the mapping' },
          },
        },
      },
    },
    {
      type: 'object', required: ['shadow'],
      properties: {
        shadow: { type: 'object', required: ['champion', 'challengers'], properties: { champion: modelRef, challengers: { type: 'array', minItems: 1, items: modelRef } } },
      },
    },
  ],
} as const;

const createBody = {
  type: 'object',
  required: ['name', 'steps'],
  additionalProperties: false,
  properties: {
    name: newName,
    steps: {
      type: 'array',
      minItems: 1,
      description: 'In order. A step is {"model", "version"?}, {"ab": {"arms": [{"model", "version"?, "weight"?}], ' +
        '"split"?: "random"|"key", "key"?: "metadata.<name>"|"in.<input>", "mapping"?: {value: arm}, "default"?: arm}} ' +
        'or {"shadow": {"champion": {"model", "version"?}, "challengers": [...]}}',
      items: stepSpec,
    },
    validations: {
      type: 'object',
      description: 'rule name -> expression that good rows satisfy, e.g. {"confident": "out.probabilities[1] <= 0.95"}',
      additionalProperties: { type: 'string' },
    },
  },
} as const;

const swapBody = {
  type: 'object',
  required: ['step', 'model'],
  additionalProperties: false,
  properties: {
    step: { type: 'integer', minimum: 1, description: '1-based step to change' },
    model: modelRef.properties.model,
    version: modelRef.properties.version,
    replace: { type: 'string', description: 'in an A/B or shadow step: the arm, champion or challenger to replace' },
  },
} as const;

const deployBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { type: 'integer', minimum: 1 },
    replicas: { type: 'integer', minimum: 0, maximum: 64, description: 'inference worker threads (0: in the server thread)' },
    threads: { type: 'integer', minimum: 1, maximum: 64 },
    step_timeout_ms: { type: 'integer', minimum: 1, maximum: 600000 },
    memory_mb: { type: 'integer', minimum: 64, maximum: 1048576, description: 'memory of each custom-code step process, MiB' },
    cpu_seconds: { type: 'integer', minimum: 0, maximum: 86400, description: 'CPU time one call to a custom-code step may use in its worker process, s (0: no limit); past it STEP_TIMEOUT and a fresh worker' },
    shadow_timeout_ms: { type: 'integer', minimum: 1, maximum: 600000 },
    max_batch_size: { type: 'integer', minimum: 1, maximum: 65536, description: 'dynamic batching: most rows per coalesced run (1: off)' },
    max_delay_ms: { type: 'integer', minimum: 0, maximum: 10000, description: 'dynamic batching: longest wait for company' },
  },
} as const;

export const pipelineRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.post<{ Body: { name: string } & PipelineSpec }>('/v1/pipelines', {
    config: { permission: 'pipeline:write', audit: 'pipeline.create' },
    schema: {
      tags: ['pipelines'], summary: 'Create a pipeline, or a new version of it when its steps or validations changed', body: createBody,
      response: {
        201: { description: 'a new pipeline version', ...ref('PipelineVersion') },
        200: { description: 'nothing changed: the latest version', ...ref('PipelineVersion') },
        ...errors(404, 422),
      },
    },
  }, async (req, reply) => {
    const { name, ...spec } = req.body;
    const { version, created } = await p.pipelines.create(workspaceOf(req), name, spec);
    return reply.status(created ? 201 : 200).send({ ...version, created });
  });

  app.get('/v1/pipelines', { config: { permission: 'pipeline:read' }, schema: { tags: ['pipelines'], summary: 'List pipelines', response: { 200: listOf('pipelines', ref('PipelineSummary')) } } }, async (req) => ({
    pipelines: await p.pipelines.list(workspaceOf(req)),
  }));

  app.get<{ Params: { name: string } }>('/v1/pipelines/:name', {
    config: { permission: 'pipeline:read' },
    schema: { tags: ['pipelines'], summary: 'A pipeline: latest version and deployment', params: nameParam, response: { 200: ref('Pipeline') } },
  }, async (req) => {
    const ws = workspaceOf(req);
    const versions = await p.pipelines.versions(ws, req.params.name);
    return { name: req.params.name, latest: versions.at(-1), versions: versions.length, deployment: await p.deployments.status(ws, req.params.name) };
  });

  app.get<{ Params: { name: string } }>('/v1/pipelines/:name/versions', {
    config: { permission: 'pipeline:read' },
    schema: { tags: ['pipelines'], summary: 'All versions of a pipeline', params: nameParam, response: { 200: listOf('versions', ref('PipelineVersion')) } },
  }, async (req) => ({ versions: await p.pipelines.versions(workspaceOf(req), req.params.name) }));

  app.get<{ Params: { name: string; version: number } }>('/v1/pipelines/:name/versions/:version', {
    config: { permission: 'pipeline:read' },
    schema: {
      tags: ['pipelines'], summary: 'One pipeline version',
      params: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'integer', minimum: 1 } }, required: ['name', 'version'] },
      response: { 200: ref('PipelineVersion') },
    },
  }, async (req) => p.pipelines.getVersion(workspaceOf(req), req.params.name, req.params.version));

  app.post<{ Params: { name: string }; Body: { version?: number } & Partial<DeploymentConfig> | undefined }>('/v1/pipelines/:name/deploy', {
    config: { permission: 'deployment:write', audit: 'pipeline.deploy' },
    schema: {
      tags: ['pipelines'], summary: 'Deploy a pipeline version (the latest by default)', params: nameParam, body: deployBody,
      response: { 200: ref('DeploymentStatus'), ...errors(422) },
    },
  }, async (req) => {
    const status = await p.deployments.deploy(workspaceOf(req), req.params.name, req.body ?? {});
    noteAudit(req, { detail: { version: status.pipeline_version } });
    return status;
  });

  app.post<{ Params: { name: string }; Body: SwapRequest }>('/v1/pipelines/:name/swap', {
    config: { permission: 'deployment:write', audit: 'pipeline.swap' },
    schema: {
      tags: ['pipelines'], params: nameParam, body: swapBody, response: { 200: ref('DeploymentStatus'), ...errors(422) },
      summary: 'Hot swap or promote: a new version with one step (or one arm of it) replaced, deployed in place without dropping requests',
    },
  }, async (req) => {
    const status = await p.deployments.swap(workspaceOf(req), req.params.name, req.body);
    const { step, model, version, replace } = req.body;
    noteAudit(req, { detail: { step, model, model_version: version ?? null, replace: replace ?? null, pipeline_version: status.pipeline_version } });
    return status;
  });

  app.post<{ Params: { name: string } }>('/v1/pipelines/:name/undeploy', {
    config: { permission: 'deployment:write', audit: 'pipeline.undeploy' },
    schema: { tags: ['pipelines'], summary: 'Undeploy a pipeline', params: nameParam, response: { 200: ref('DeploymentStatus') } },
  }, async (req) => p.deployments.undeploy(workspaceOf(req), req.params.name));

  app.get<{ Params: { name: string } }>('/v1/pipelines/:name/deployment', {
    config: { permission: 'pipeline:read' },
    schema: { tags: ['pipelines'], summary: 'Deployment status of a pipeline', params: nameParam, response: { 200: ref('DeploymentStatus') } },
  }, async (req) => p.deployments.status(workspaceOf(req), req.params.name));

  app.get('/v1/deployments', { config: { permission: 'pipeline:read' }, schema: { tags: ['pipelines'], summary: 'List deployments', response: { 200: listOf('deployments', ref('DeploymentStatus')) } } }, async (req) => ({
    deployments: await p.deployments.list(workspaceOf(req)),
  }));
};
