/** The data scientist's route: records JSON (a DataFrame's rows) or an Arrow IPC table in, the same out. */
import crypto from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { ARROW_FILE, ARROW_STREAM, answerFormat, decodeArrow, resultToTable, writeArrow } from '../../codecs/arrow.ts';
import { decodeRecords, encodeRecordsJson } from '../../codecs/records.ts';
import { parseRecordsBody } from '../../codecs/records-body.ts';
import { type Batch, elementCount } from '../../codecs/tensor.ts';
import { CodecThreads, OFFLOAD_ANSWER_ELEMENTS, OFFLOAD_BODY_BYTES } from '../../codecs/threads.ts';
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

/** JSON bodies arrive as their bytes: a large one is parsed on a codec thread. */
type Body = { json: Buffer } | Buffer;

export const recordsRoutes = (p: Platform) => async (app: FastifyInstance) => {
  // Registered here, so only this route group takes them: Arrow IPC bodies as Buffers, JSON unparsed.
  app.addContentTypeParser([ARROW_STREAM, ARROW_FILE], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, { json: body }));
  const codecs = new CodecThreads();
  app.addHook('onClose', () => codecs.close());

  app.post<{ Params: { name: string }; Body: Body }>('/v1/pipelines/:name/infer', {
    config: { permission: 'infer', ...requestBody },
    schema: {
      tags: ['inference'], params: nameParam, response: { 200: answer, ...errors(409, 503, 504) },
      summary: 'Infer on records (pandas to_json(orient="records")): returns rows with time, in.*, out.*',
      description: 'The body is an array of row objects, or {"records": [...], "metadata": {...}} to log request metadata; ' +
        `or an Arrow IPC table (${ARROW_STREAM} or ${ARROW_FILE}) whose columns are the pipeline inputs, answered in Arrow ` +
        '(the Accept header may ask for either Arrow format, or JSON).',
    },
  }, async (req, reply) => {
    // No body at all (no content type either) reaches here as undefined.
    const body = (req.body as Body | undefined) ?? fail('INVALID_REQUEST', 'body must be an array of records or {"records": [...]}');
    const json = Buffer.isBuffer(body) ? undefined : body.json;
    // A small JSON body is parsed before the pipeline is looked up, as it always was: bad JSON is a 400 first.
    const records = json && json.length < OFFLOAD_BODY_BYTES ? parseRecordsBody(json) : undefined;
    const deployment = await p.deployments.get(workspaceOf(req), req.params.name);
    const specs = deployment.version.signature.inputs;
    let inputs: Batch;
    let metadata: Record<string, unknown> = {};
    if (records) {
      inputs = decodeRecords(records.rows, specs);
      metadata = records.metadata;
    } else if (json) ({ inputs, metadata } = await codecs.decode(json, specs));
    else inputs = decodeArrow(body as Buffer, specs);
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
    const validations = { rules, anomalies: result.anomalies };
    const elements = [...result.inputs, ...result.outputs].reduce((n, t) => n + elementCount(t.shape), 0);
    const answer = elements >= OFFLOAD_ANSWER_ELEMENTS
      ? await codecs.encode(result.time, result.inputs, result.outputs, validations)
      : encodeRecordsJson(result.time, result.inputs, result.outputs, validations);
    return reply.type('application/json; charset=utf-8').send(answer);
  });
};
