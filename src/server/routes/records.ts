/** The data scientist's route: records JSON in (a DataFrame's rows), records out. */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { decodeRecords, encodeRecords } from '../../codecs/records.ts';
import { fail } from '../../errors/index.ts';
import type { Platform } from '../../platform.ts';
import { nameParam, workspaceOf } from '../context.ts';

type Body = unknown[] | { records: unknown[]; metadata?: Record<string, unknown> };

export const recordsRoutes = (p: Platform) => async (app: FastifyInstance) => {
  app.post<{ Params: { name: string }; Body: Body }>('/v1/pipelines/:name/infer', {
    schema: {
      tags: ['inference'], params: nameParam,
      summary: 'Infer on records (pandas to_json(orient="records")): returns rows with time, in.*, out.*',
      description: 'The body is an array of row objects, or {"records": [...], "metadata": {...}} to log request metadata.',
    },
  }, async (req) => {
    const body = req.body;
    const rows = Array.isArray(body) ? body : body && typeof body === 'object' ? body.records : undefined;
    if (!Array.isArray(rows)) fail('INVALID_REQUEST', 'body must be an array of records or {"records": [...]}');
    const metadata = !Array.isArray(body) && body?.metadata && typeof body.metadata === 'object' ? body.metadata : {};
    const deployment = await p.deployments.get(workspaceOf(req), req.params.name);
    const inputs = decodeRecords(rows, deployment.version.signature.inputs);
    const result = await p.inference.run(deployment, inputs, { requestId: crypto.randomUUID(), metadata });
    const out = encodeRecords(result.time, result.inputs, result.outputs);
    const rules = deployment.rules.map((r) => r.name);
    if (rules.length) {
      out.forEach((row, i) => {
        const broken = result.anomalies[i];
        row['anomaly.count'] = broken.length;
        for (const name of rules) row[`anomaly.${name}`] = broken.includes(name);
      });
    }
    return out;
  });
};
