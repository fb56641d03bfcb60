/** Ground truth and performance monitors: feedback upload, unmatched labels, monitor preview, saved monitors, results, alerts. */
import type { FastifyInstance } from 'fastify';
import { ARROW_FILE, ARROW_STREAM } from '../../codecs/arrow.ts';
import { CSV, type MonitorDefinition, type MonitorPreviewRequest, PARQUET, uploadRows } from '../../monitoring/performance/index.ts';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS } from '../../monitoring/performance/metrics.ts';
import type { Platform } from '../../platform.ts';
import { nameParam, queryTime, workspaceOf } from '../context.ts';
import { binary, documentedBody } from '../openapi.ts';
import { errors, listOf, newName, ref } from '../schemas.ts';

const duration = { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string' }], description: 'milliseconds, or "10s", "5m", "24h", "7d"' } as const;
const time = { anyOf: [{ type: 'integer' }, { type: 'string' }], description: 'epoch ms or ISO 8601' } as const;
const scalar = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } as const;

const definitionProperties = {
  pipeline: { type: 'string' },
  task: { type: 'string', enum: ['classification', 'regression'] },
  key: { type: 'string', description: "how labels find predictions: 'request_id' (default: the request id and the row within it) or 'metadata.<field>'" },
  label: { type: 'string', description: 'the label column of the uploaded feedback' },
  prediction: {
    type: 'object', required: ['column'], additionalProperties: false,
    properties: { column: { type: 'string', description: "'out.<output>'" }, index: { anyOf: [{ type: 'integer', minimum: 0 }, { type: 'array', items: { type: 'integer', minimum: 0 } }] } },
  },
  probabilities: { type: 'object', required: ['column'], additionalProperties: false, properties: { column: { type: 'string', description: "'out.<output>' holding the class probabilities" } } },
  classes: { type: 'array', items: scalar, description: 'the classes the probabilities are for, in order (default 0, 1, …)' },
  positive: scalar,
  metric: { type: 'string', enum: [...CLASSIFICATION_METRICS, ...REGRESSION_METRICS] },
  thresholds: { type: 'object', additionalProperties: false, properties: { warning: { type: 'number' }, alert: { type: 'number' } } },
  window: { type: 'object', required: ['width'], additionalProperties: false, properties: { width: duration, interval: duration, start: time } },
  coverage: { type: 'object', additionalProperties: false, properties: { min: { type: 'number' }, max_delay: duration } },
  reference: { type: 'object', required: ['start', 'end'], additionalProperties: false, properties: { start: time, end: time }, description: 'a labelled period CBPE calibrates on' },
} as const;
const required = ['pipeline', 'task', 'label', 'prediction', 'window'];

const previewBody = { type: 'object', required, additionalProperties: false, properties: { ...definitionProperties, start: time, end: time } } as const;
const createBody = {
  type: 'object', required: ['name', ...required], additionalProperties: false,
  properties: {
    name: newName, ...definitionProperties,
    alert: {
      type: 'object', required: ['webhook'], additionalProperties: false,
      properties: { webhook: { type: 'string' }, on: { type: 'string', enum: ['alert', 'warning'] } },
    },
  },
} as const;
const resultsQs = {
  type: 'object',
  properties: { start: { type: 'string' }, end: { type: 'string' }, limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } },
} as const;

const rows = { type: 'array', items: { type: 'object', description: 'a key column (request_id and row, or the metadata field) and label columns' } } as const;
const feedbackBody = documentedBody({
  'application/json': { anyOf: [rows, { type: 'object', required: ['records'], properties: { records: rows } }] },
  [CSV]: { type: 'string' },
  [ARROW_STREAM]: binary,
  [ARROW_FILE]: binary,
  [PARQUET]: binary,
});
const feedbackQs = {
  type: 'object',
  properties: {
    key: { type: 'string', description: "'request_id' (default; columns request_id and row) or 'metadata.<field>' (column <field>)" },
    label: { type: 'string', description: 'label columns, comma-separated (default: every column but the key)' },
  },
} as const;

export const monitorRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.addContentTypeParser([ARROW_STREAM, ARROW_FILE, PARQUET], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.addContentTypeParser(CSV, { parseAs: 'string' }, (_req, body, done) => done(null, body));

  app.post<{ Params: { name: string }; Querystring: { key?: string; label?: string }; Body: unknown }>('/v1/pipelines/:name/feedback', {
    config: { permission: 'assay:write', audit: 'feedback.upload', ...feedbackBody },
    schema: {
      tags: ['monitors'], params: nameParam, querystring: feedbackQs, response: { 200: ref('FeedbackReceipt'), ...errors(404) },
      summary: 'Upload ground-truth labels for logged predictions (JSON records, CSV, Arrow IPC or Parquet)',
      description: 'Each row holds a key and label columns. A later label for a key replaces the earlier (kept as history); ' +
        'labels whose prediction is not logged (yet) are counted as unmatched and listed by GET .../feedback/unmatched.',
    },
  }, async (req) => {
    const labels = await uploadRows(req.headers['content-type'], req.body);
    const label = req.query.label ? req.query.label.split(',').map((s) => s.trim()).filter(Boolean) : undefined;
    return p.feedback.upload(workspaceOf(req), req.params.name, labels, { key: req.query.key, label });
  });

  app.get<{ Params: { name: string }; Querystring: { limit?: number } }>('/v1/pipelines/:name/feedback/unmatched', {
    config: { permission: 'assay:read' },
    schema: {
      tags: ['monitors'], params: nameParam, querystring: { type: 'object', properties: { limit: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } } },
      summary: 'Current labels that no logged prediction has the key of: how many, and the oldest of them', response: { 200: ref('UnmatchedLabels') },
    },
  }, async (req) => p.feedback.unmatched(workspaceOf(req), req.params.name, req.query.limit));

  app.post<{ Body: MonitorPreviewRequest }>('/v1/monitors/preview', {
    config: { permission: 'assay:read' },
    schema: {
      tags: ['monitors'], body: previewBody, response: { 200: ref('MonitorPreview'), ...errors(404, 422) },
      summary: 'Run a performance monitor definition over past windows without saving it: per window coverage, realised metrics, CBPE estimate',
    },
  }, async (req) => p.monitors.preview(workspaceOf(req), req.body));

  app.post<{ Body: MonitorDefinition & { name: string } }>('/v1/monitors', {
    config: { permission: 'assay:write', audit: 'monitor.create' },
    schema: { tags: ['monitors'], body: createBody, summary: 'Save a performance monitor: it runs each window once it ends and finalises it when its labels have come', response: { 201: ref('Monitor'), ...errors(404, 409, 422) } },
  }, async (req, reply) => {
    const { name, ...definition } = req.body;
    return reply.status(201).send(await p.monitors.create(workspaceOf(req), name, definition));
  });

  app.get('/v1/monitors', { config: { permission: 'assay:read' }, schema: { tags: ['monitors'], summary: 'List performance monitors', response: { 200: listOf('monitors', ref('Monitor')) } } },
    async (req) => ({ monitors: await p.monitors.list(workspaceOf(req)) }));

  app.get<{ Params: { name: string } }>('/v1/monitors/:name', {
    config: { permission: 'assay:read' }, schema: { tags: ['monitors'], params: nameParam, summary: 'A performance monitor', response: { 200: ref('Monitor') } },
  }, async (req) => p.monitors.get(workspaceOf(req), req.params.name));

  for (const action of ['pause', 'resume'] as const) {
    app.post<{ Params: { name: string } }>(`/v1/monitors/:name/${action}`, {
      config: { permission: 'assay:write', audit: `monitor.${action}` },
      schema: { tags: ['monitors'], params: nameParam, summary: `${action === 'pause' ? 'Pause' : 'Resume'} a performance monitor`, response: { 200: ref('Monitor') } },
    }, async (req) => p.monitors[action](workspaceOf(req), req.params.name));
  }

  app.delete<{ Params: { name: string } }>('/v1/monitors/:name', {
    config: { permission: 'assay:write', audit: 'monitor.delete' },
    schema: { tags: ['monitors'], params: nameParam, summary: 'Delete a performance monitor with its results and alerts', response: { 200: { type: 'object', properties: { deleted: { type: 'string' } }, required: ['deleted'] } } },
  }, async (req) => p.monitors.delete(workspaceOf(req), req.params.name));

  app.get<{ Params: { name: string }; Querystring: { start?: string; end?: string; limit?: number } }>('/v1/monitors/:name/results', {
    config: { permission: 'assay:read' },
    schema: { tags: ['monitors'], params: nameParam, querystring: resultsQs, summary: 'Window results of a monitor, chronological: final ones and the pending one', response: { 200: listOf('results', ref('MonitorResult')) } },
  }, async (req) => ({
    results: await p.monitors.results(workspaceOf(req), req.params.name, { start: queryTime(req.query.start, 'start'), end: queryTime(req.query.end, 'end'), limit: req.query.limit }),
  }));

  app.get<{ Params: { name: string } }>('/v1/monitors/:name/alerts', {
    config: { permission: 'assay:read' },
    schema: { tags: ['monitors'], params: nameParam, summary: 'Alert deliveries of a monitor', response: { 200: listOf('alerts', ref('MonitorAlertDelivery')) } },
  }, async (req) => ({ alerts: await p.monitors.alerts(workspaceOf(req), req.params.name) }));
};
