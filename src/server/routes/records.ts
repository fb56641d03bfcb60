/** The data scientist's route: records JSON (a DataFrame's rows) or an Arrow IPC table in, the same out. */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ARROW_FILE, ARROW_STREAM, answerFormat, decodeArrow, resultToTable, writeArrow } from '../../codecs/arrow.ts';
import { decodeRecords, encodeRecordsJson } from '../../codecs/records.ts';
import { fail } from '../../errors/index.ts';
import type { Platform } from '../../platform.ts';
import { nameParam, workspaceOf } from '../context.ts';
import { binary, documentedBody } from '../openapi.ts';
import { errors } from '../schemas.ts';

const rows = { type: 'array', items: { type: 'object', description: 'one row: input name -> value (a number, string or nested array)' } } as const;
const requestBody = documentedBody({
  'application/json': {
    anyOf: [rows, { type: 'object', required: ['records'], properties: { records: rows, metadata: { type: 'object', description: 'logged with every row' } } }],
  },
  [ARROW_STREAM]: binary,
  [ARROW_FILE]: binary,
});
const answer = {
  description: 'the rows with time, in.*, out.* (and anomaly.* when the pipeline has validations); Arrow when asked for',
  content: {
    'application/json': { schema: { type: 'array', items: { type: 'object', required: ['time'] } } },
    [ARROW_STREAM]: { schema: binary },
    [ARROW_FILE]: { schema: binary },
  },
};

type Body = unknown[] | { records: unknown[]; metadata?: Record<string, unknown> };

export const recordsRoutes = (p: Platform) => async (app: FastifyInstance) => {
  // Arrow IPC bodies arrive as Buffers; registered here, so only this route group takes them.
  app.addContentTypeParser([ARROW_STREAM, ARROW_FILE], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.post<{ Params: { name: string }; Body: Body | Buffer }>('/v1/pipelines/:name/infer', {
    config: { permission: 'infer', ...requestBody },
    schema: {
      tags: ['inference'], params: nameParam, response: { 200: answer, ...errors(409, 503, 504) },
      summary: 'Infer on records (pandas to_json(orient="records")): returns rows with time, in.*, out.*',
      description: 'The body is an array of row objects, or {"records": [...], "metadata": {...}} to log request metadata; ' +
        `or an Arrow IPC table (${ARROW_STREAM} or ${ARROW_FILE}) whose columns are the pipeline inputs, answered in Arrow ` +
        '(the Accept header may ask for either Arrow format, or JSON).',
    },
  }, async (req, reply) => {
    const body = req.body;
    const arrow = Buffer.isBuffer(body);
    let rows: unknown[] = [];
    let metadata: Record<string, unknown> = {};
    if (!arrow) {
      const given = Array.isArray(body) ? body : body && typeof body === 'object' ? body.records : undefined;
      rows = Array.isArray(given) ? given : fail('INVALID_REQUEST', 'body must be an array of records or {"records": [...]}');
      metadata = !Array.isArray(body) && body?.metadata && typeof body.metadata === 'object' ? body.metadata : {};
    }
    const deployment = await p.deployments.get(workspaceOf(req), req.params.name);
    const specs = deployment.version.signature.inputs;
    const inputs = arrow ? decodeArrow(body, specs) : decodeRecords(rows, specs);
    const requestId = crypto.randomUUID();
    const result = await p.inference.run(deployment, inputs, { requestId, metadata });
    // The key ground-truth labels can name this request's rows by (with the row index).
    void reply.header('x-request-id', requestId);
    const rules = deployment.rules.map((r) => r.name);
    const format = answerFormat(req.headers['content-type'], req.headers.accept);
    if (format) {
      const validations = rules.length ? { rules, anomalies: result.anomalies } : undefined;
      const bytes = writeArrow(resultToTable({ ...result, validations }), format);
      void reply.header('content-type', format === 'file' ? ARROW_FILE : ARROW_STREAM);
      return reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    return reply.type('application/json; charset=utf-8').send(encodeRecordsJson(result.time, result.inputs, result.outputs, { rules, anomalies: result.anomalies }));
  });
};
