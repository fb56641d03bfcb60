/**
 * Open Inference Protocol v2 over REST, with a pipeline as the "model". Errors are
 * {"error": "..."} (plus our stable "code"); binary tensors follow Triton's extension.
 */
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeInferRequest, encodeInferResponse } from '../../codecs/oip.ts';
import { fail } from '../../errors/index.ts';
import { modelMetadata, modelReady } from '../../inference/metadata.ts';
import type { Platform } from '../../platform.ts';
import { VERSION } from '../../version.ts';
import type { ServerState } from '../app.ts';
import { workspaceOf } from '../context.ts';

const HEADER_LENGTH = 'inference-header-content-length';
const ACCEPTED = /^(application\/json|application\/octet-stream)\b/i;
const JSON_UTF8 = /^application\/json;\s*charset=utf-8$/i;

const modelParams = {
  type: 'object',
  properties: { name: { type: 'string' }, version: { type: 'integer', minimum: 1 } },
  required: ['name'],
} as const;

type ModelReq = FastifyRequest<{ Params: { name: string; version?: number } }>;

export const oipRoutes = (p: Platform, state: ServerState) => async (app: FastifyInstance) => {
  // Infer bodies are parsed here, not by the framework: a JSON header may be followed by raw tensor bytes.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // Triton's own clients (tritonclient.http) send infer bodies with no Content-Type at all, which the protocol
  // allows; without a catch-all Fastify answers 415 before `infer` runs. `infer` still refuses other types.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  // RFC 8259 defines no charset for application/json, and kserve's client reads an error's message only when
  // the type is exactly application/json (as Triton and KServe send it); Fastify would add '; charset=utf-8'.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (JSON_UTF8.test(String(reply.getHeader('content-type')))) void reply.header('content-type', 'application/json');
    return payload;
  });

  app.get('/v2/health/live', { config: { permission: 'public' }, schema: { tags: ['inference'], summary: 'OIP server live' } }, async (_req, reply) =>
    reply.status(state.shuttingDown ? 503 : 200).send({ live: !state.shuttingDown }));

  app.get('/v2/health/ready', { config: { permission: 'public' }, schema: { tags: ['inference'], summary: 'OIP server ready' } }, async (_req, reply) => {
    // Not ready while the inference log cannot keep what it is given (issue 10): inference is refused then.
    const ready = !state.shuttingDown && p.deployments.isReady() && p.logs.accepting;
    return reply.status(ready ? 200 : 503).send({ ready });
  });

  app.get('/v2', { config: { permission: 'authenticated' }, schema: { tags: ['inference'], summary: 'OIP server metadata' } }, async () => ({
    name: 'bettong', version: VERSION, extensions: ['binary_tensor_data'],
  }));

  const metadata = async (req: ModelReq) => modelMetadata(p, workspaceOf(req), req.params.name, req.params.version);
  const schema = (summary: string) => ({ config: { permission: 'inference:read' as const }, schema: { tags: ['inference'], summary, params: modelParams } });
  app.get('/v2/models/:name', schema('OIP model metadata'), metadata);
  app.get('/v2/models/:name/versions/:version', schema('OIP model metadata'), metadata);

  const ready = async (req: ModelReq, reply: FastifyReply) => {
    const ok = await modelReady(p, workspaceOf(req), req.params.name, req.params.version);
    return reply.status(ok ? 200 : 503).send({ name: req.params.name, ready: ok });
  };
  app.get('/v2/models/:name/ready', schema('OIP model ready'), ready);
  app.get('/v2/models/:name/versions/:version/ready', schema('OIP model ready'), ready);

  const infer = async (req: ModelReq, reply: FastifyReply) => {
    const type = req.headers['content-type'];
    if (type !== undefined && !ACCEPTED.test(type)) fail('UNSUPPORTED_MEDIA_TYPE', `content type '${type}' is not accepted; use application/json or application/octet-stream`);
    const body = Buffer.isBuffer(req.body) ? req.body : fail('INVALID_REQUEST', 'inference request has no body');
    const lengthHeader = req.headers[HEADER_LENGTH];
    const headerLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    const request = decodeInferRequest(body, headerLength);
    const result = await p.inference.infer(workspaceOf(req), req.params.name, request.inputs, {
      version: req.params.version,
      outputs: request.outputs?.map((o) => o.name),
      requestId: request.id ?? crypto.randomUUID(),
      metadata: request.parameters,
    });
    const binary = request.outputs
      ? (n: string) => request.outputs!.find((o) => o.name === n)!.binary
      : () => request.binaryOutput;
    // Validation results ride in the response parameters: OIP clients ignore what they don't know.
    const parameters = result.deployment.rules.length
      ? { anomaly_count: result.anomalies.reduce((n, a) => n + a.length, 0), anomalies: result.anomalies }
      : undefined;
    const encoded = encodeInferResponse({
      model_name: req.params.name, model_version: String(result.deployment.version.version),
      ...(request.id !== undefined ? { id: request.id } : {}),
      ...(parameters ? { parameters } : {}),
    }, result.outputs, binary);
    if (encoded.headerLength !== undefined) {
      void reply.header('content-type', 'application/octet-stream').header(HEADER_LENGTH, String(encoded.headerLength));
    } else {
      void reply.header('content-type', 'application/json');
    }
    return reply.send(encoded.body);
  };
  const inferSchema = { config: { permission: 'infer' as const }, schema: { tags: ['inference'], summary: 'OIP infer', params: modelParams } };
  app.post('/v2/models/:name/infer', inferSchema, infer);
  app.post('/v2/models/:name/versions/:version/infer', inferSchema, infer);
};
