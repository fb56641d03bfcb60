/** Inference log routes: paged queries and streaming export. */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { compare } from '../../logs/compare.ts';
import { iterateLogPages, queryLogs } from '../../logs/query.ts';
import type { Platform } from '../../platform.ts';
import { nameParam, queryTime, workspaceOf } from '../context.ts';
import { ref } from '../schemas.ts';

interface LogQs { start?: string; end?: string; limit?: number; cursor?: string; anomaly?: boolean }

const logQs = {
  type: 'object',
  properties: {
    start: { type: 'string', description: 'epoch ms or ISO 8601, inclusive' },
    end: { type: 'string', description: 'epoch ms or ISO 8601, exclusive' },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    cursor: { type: 'string', description: 'next_cursor of the previous page' },
    anomaly: { type: 'boolean', description: 'true: only rows that broke a validation; false: only rows that broke none' },
  },
} as const;

export const logRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.get<{ Params: { name: string }; Querystring: LogQs }>('/v1/pipelines/:name/logs', {
    config: { permission: 'logs:read' },
    schema: {
      tags: ['logs'], params: nameParam, querystring: logQs, response: { 200: ref('LogPage') },
      summary: 'Inference logs: newest first, or chronological when start/end are given; paged by cursor',
    },
  }, async (req) => {
    const id = await p.pipelines.pipelineId(workspaceOf(req), req.params.name);
    // Read your own writes: rows of requests already answered are written before the query.
    await p.logs.flush();
    const q = req.query;
    return queryLogs(p.db, id, { start: queryTime(q.start, 'start'), end: queryTime(q.end, 'end'), limit: q.limit, cursor: q.cursor, anomaly: q.anomaly });
  });

  app.get<{ Params: { name: string }; Querystring: LogQs }>('/v1/pipelines/:name/logs/export', {
    config: { permission: 'logs:read' },
    schema: {
      tags: ['logs'], params: nameParam, querystring: logQs, summary: 'All matching logs as JSON Lines, streamed chronologically',
      response: { 200: { description: 'one log record (as in GET .../logs) per line', content: { 'application/x-ndjson': { schema: { type: 'string' } } } } },
    },
  }, async (req, reply) => {
    const id = await p.pipelines.pipelineId(workspaceOf(req), req.params.name);
    const range = { start: queryTime(req.query.start, 'start'), end: queryTime(req.query.end, 'end'), anomaly: req.query.anomaly };
    await p.logs.flush();
    // A chunk per page: a stream chunk (and an await) per line cost more than writing the line.
    async function* lines() {
      for await (const page of iterateLogPages(p.db, id, range)) {
        let chunk = '';
        for (const rec of page) chunk += `${JSON.stringify(rec)}\n`;
        if (chunk) yield chunk;
      }
    }
    return reply.header('content-type', 'application/x-ndjson').send(Readable.from(lines()));
  });

  app.get<{ Params: { name: string }; Querystring: { start?: string; end?: string; monitor?: string } }>('/v1/pipelines/:name/compare', {
    config: { permission: 'logs:read' },
    schema: {
      tags: ['logs'], params: nameParam,
      querystring: {
        type: 'object',
        properties: {
          start: logQs.properties.start, end: logQs.properties.end,
          monitor: { type: 'string', description: "a performance monitor of this pipeline: each group gains its realised metrics on the labelled rows ('performance')" },
        },
      },
      summary: 'Compare arms and model versions from the logs: rows, output summaries, latency p50/p95/p99, validation failure rate',
      response: { 200: ref('Comparison') },
    },
  }, async (req) => {
    const id = await p.pipelines.pipelineId(workspaceOf(req), req.params.name);
    await p.logs.flush();
    const range = { start: queryTime(req.query.start, 'start'), end: queryTime(req.query.end, 'end') };
    const groups = await compare(p.db, id, range);
    if (req.query.monitor) {
      // outcomes per arm and per challenger, from the monitor's join of labels to these rows
      const perf = await p.monitors.over(workspaceOf(req), req.query.monitor, range.start ?? 0, range.end ?? Date.now() + 1);
      for (const g of groups as (typeof groups[number] & { performance?: unknown })[]) {
        const found = g.role === 'answer' ? perf.arms.find((a) => a.models === g.models) : perf.challengers.find((c) => c.challenger === g.models);
        if (found) g.performance = { metric: perf.metric, value: found.value, count: found.count, labelled: found.labelled, coverage: found.coverage, metrics: found.metrics };
      }
    }
    return { pipeline: req.params.name, ...range, groups };
  });
};
