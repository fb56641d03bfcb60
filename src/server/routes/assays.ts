/** Assay routes: preview (unsaved), saved assays, their results and alert deliveries. */
import type { FastifyInstance } from 'fastify';
import type { AssayDefinition, PreviewRequest } from '../../monitoring/index.ts';
import type { Platform } from '../../platform.ts';
import { nameParam, queryTime, workspaceOf } from '../context.ts';
import { errors, listOf, newName, ref } from '../schemas.ts';

const duration = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string' }], description: 'milliseconds, or "10s", "5m", "24h", "7d"' } as const;
const time = { anyOf: [{ type: 'integer' }, { type: 'string' }], description: 'epoch ms or ISO 8601' } as const;

const definitionProperties = {
  pipeline: { type: 'string', description: 'the pipeline whose inference logs are assayed' },
  target: {
    type: 'object', required: ['column'], additionalProperties: false,
    properties: {
      column: { type: 'string', description: "'in.<input>' or 'out.<output>'" },
      index: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'array', minItems: 1, items: { type: 'integer', minimum: 0 } }], description: 'element of a tensor column' },
      kind: { type: 'string', enum: ['numeric', 'categorical'] },
    },
  },
  baseline: {
    type: 'object', additionalProperties: false,
    description: "one of: {start, end} of the pipeline's logs; {values: [...]}; {file: {content, format?, column, index?}}",
    properties: {
      start: time,
      end: time,
      values: { type: 'array', items: { anyOf: [{ type: 'null' }, { type: 'number' }, { type: 'string' }, { type: 'boolean' }] }, description: 'null stands for NaN' },
      file: {
        type: 'object', required: ['content', 'column'], additionalProperties: false,
        properties: {
          content: { type: 'string', description: 'the CSV, JSON or JSON Lines text' },
          format: { type: 'string', enum: ['csv', 'json', 'jsonl'] },
          column: { type: 'string' },
          index: { type: 'integer', minimum: 0 },
        },
      },
    },
  },
  window: {
    type: 'object', required: ['width'], additionalProperties: false,
    properties: { width: duration, interval: duration, start: time },
  },
  binning: {
    type: 'object', additionalProperties: false,
    properties: {
      mode: { type: 'string', enum: ['quantile', 'equal_width', 'provided'] },
      bins: { type: 'integer' },
      edges: { type: 'array', items: { type: 'number' } },
    },
  },
  metric: { type: 'string', enum: ['psi', 'maxdiff', 'sumdiff', 'jensenshannon', 'chisquare', 'ks', 'wasserstein'] },
  thresholds: { type: 'object', additionalProperties: false, properties: { warning: { type: 'number' }, alert: { type: 'number' } } },
  epsilon: { type: 'number' },
} as const;

const previewBody = {
  type: 'object', required: ['pipeline', 'target', 'baseline', 'window'], additionalProperties: false,
  properties: { ...definitionProperties, start: time, end: time },
} as const;

const createBody = {
  type: 'object', required: ['name', 'pipeline', 'target', 'baseline', 'window'], additionalProperties: false,
  properties: {
    name: newName,
    ...definitionProperties,
    alert: {
      type: 'object', required: ['webhook'], additionalProperties: false,
      properties: { webhook: { type: 'string', description: 'http(s) URL that receives a JSON POST' }, on: { type: 'string', enum: ['alert', 'warning'] } },
    },
  },
} as const;

const resultsQs = {
  type: 'object',
  properties: {
    start: { type: 'string', description: 'window start at or after (epoch ms or ISO 8601)' },
    end: { type: 'string', description: 'window start before (epoch ms or ISO 8601)' },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 },
  },
} as const;

export const assayRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.post<{ Body: PreviewRequest }>('/v1/assays/preview', {
    config: { permission: 'assay:read' },
    schema: {
      tags: ['assays'], body: previewBody,
      summary: 'Run an assay definition over past windows without saving it: per window the score, status, row count and both histograms',
      response: { 200: ref('AssayPreview'), ...errors(404, 422) },
    },
  }, async (req) => p.assays.preview(workspaceOf(req), req.body));

  app.post<{ Body: AssayDefinition & { name: string } }>('/v1/assays', {
    config: { permission: 'assay:write', audit: 'assay.create' },
    schema: {
      tags: ['assays'], body: createBody, summary: 'Save an assay: its baseline is profiled once and it runs at each interval over the newest complete window',
      response: { 201: ref('Assay'), ...errors(404, 409, 422) },
    },
  }, async (req, reply) => {
    const { name, ...definition } = req.body;
    return reply.status(201).send(await p.assays.create(workspaceOf(req), name, definition));
  });

  app.get('/v1/assays', { config: { permission: 'assay:read' }, schema: { tags: ['assays'], summary: 'List saved assays', response: { 200: listOf('assays', ref('Assay')) } } }, async (req) => ({ assays: await p.assays.list(workspaceOf(req)) }));

  app.get<{ Params: { name: string } }>('/v1/assays/:name', {
    config: { permission: 'assay:read' },
    schema: { tags: ['assays'], params: nameParam, summary: 'A saved assay: definition, baseline profile, state, next window, last result', response: { 200: ref('Assay') } },
  }, async (req) => p.assays.get(workspaceOf(req), req.params.name));

  app.post<{ Params: { name: string } }>('/v1/assays/:name/pause', {
    config: { permission: 'assay:write', audit: 'assay.pause' },
    schema: { tags: ['assays'], params: nameParam, summary: 'Pause a saved assay', response: { 200: ref('Assay') } },
  }, async (req) => p.assays.pause(workspaceOf(req), req.params.name));

  app.post<{ Params: { name: string } }>('/v1/assays/:name/resume', {
    config: { permission: 'assay:write', audit: 'assay.resume' },
    schema: { tags: ['assays'], params: nameParam, summary: 'Resume a paused assay with the first window that ends after now', response: { 200: ref('Assay') } },
  }, async (req) => p.assays.resume(workspaceOf(req), req.params.name));

  app.delete<{ Params: { name: string } }>('/v1/assays/:name', {
    config: { permission: 'assay:write', audit: 'assay.delete' },
    schema: { tags: ['assays'], params: nameParam, summary: 'Delete a saved assay with its results and alert deliveries', response: { 200: { type: 'object', properties: { deleted: { type: 'string' } }, required: ['deleted'] } } },
  }, async (req) => p.assays.delete(workspaceOf(req), req.params.name));

  app.get<{ Params: { name: string }; Querystring: { start?: string; end?: string; limit?: number } }>('/v1/assays/:name/results', {
    config: { permission: 'assay:read' },
    schema: { tags: ['assays'], params: nameParam, querystring: resultsQs, summary: 'Stored window results of an assay, chronological', response: { 200: listOf('results', ref('AssayResult')) } },
  }, async (req) => ({
    results: await p.assays.results(workspaceOf(req), req.params.name, { start: queryTime(req.query.start, 'start'), end: queryTime(req.query.end, 'end'), limit: req.query.limit }),
  }));

  app.get<{ Params: { name: string } }>('/v1/assays/:name/alerts', {
    config: { permission: 'assay:read' },
    schema: { tags: ['assays'], params: nameParam, summary: 'Alert deliveries of an assay: pending, delivered or failed, with attempts and the last error', response: { 200: listOf('alerts', ref('AlertDelivery')) } },
  }, async (req) => ({ alerts: await p.assays.alerts(workspaceOf(req), req.params.name) }));
};
