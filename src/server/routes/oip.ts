/**
 * Open Inference Protocol v2 over REST, with a pipeline as the "model": decodes, calls the data
 * plane (dataplane.ts, shared with gRPC), encodes. Errors are {"error": "..."} (plus our stable
 * "code"); binary tensors follow Triton's extension.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeInferRequest, encodeInferResponse } from '../../codecs/oip.ts';
import { fail } from '../../errors/index.ts';
import { workspaceOf } from '../context.ts';
import type { DataPlane } from '../dataplane.ts';
import { binary, documentedBody } from '../openapi.ts';
import { errors, ref } from '../schemas.ts';

const HEADER_LENGTH = 'inference-header-content-length';
const ACCEPTED = /^(application\/json|application\/octet-stream)\b/i;
const JSON_UTF8 = /^application\/json;\s*charset=utf-8$/i;
const obj = (properties: Record<string, unknown>) => ({ type: 'object', properties, required: Object.keys(properties) }) as const;

// Two route shapes share the handlers: /v2/models/:name[/versions/:version]/...
const modelParams = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'] } as const;
const versionParams = {
  type: 'object',
  properties: { name: { type: 'string' }, version: { type: 'integer', minimum: 1 } },
  required: ['name', 'version'],
} as const;
const paramsOf = (url: string) => (url.includes(':version') ? versionParams : modelParams);

const inferBody = documentedBody({
  'application/json': ref('OipInferRequest'),
  'application/octet-stream': binary,
}, 'An OIP inference request: JSON, or with the binary tensor data extension a JSON header (its length in the ' +
  `${HEADER_LENGTH} header) followed by the raw tensor bytes.`);

type ModelReq = FastifyRequest<{ Params: { name: string; version?: number } }>;

export const oipRoutes = (dp: DataPlane) => async (app: FastifyInstance) => {
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

  const health = (key: string) => obj({ [key]: { type: 'boolean' } });
  app.get('/v2/health/live', {
    config: { permission: 'public' },
    schema: { tags: ['inference'], summary: 'OIP server live', response: { 200: health('live'), 503: { description: 'shutting down', ...health('live') } } },
  }, async (_req, reply) =>
    {
    const live = dp.live();
    return reply.status(live ? 200 : 503).send({ live });
  });

  app.get('/v2/health/ready', {
    config: { permission: 'public' },
    schema: { tags: ['inference'], summary: 'OIP server ready', response: { 200: health('ready'), 503: { description: 'not ready', ...health('ready') } } },
  }, async (_req, reply) => {
    const ready = dp.ready();
    return reply.status(ready ? 200 : 503).send({ ready });
  });

  app.get('/v2', {
    config: { permission: 'authenticated' },
    schema: { tags: ['inference'], summary: 'OIP server metadata', response: { 200: obj({ name: { type: 'string' }, version: { type: 'string' }, extensions: { type: 'array', items: { type: 'string' } } }) } },
  }, async () => ({
    ...dp.serverMetadata(), extensions: ['binary_tensor_data'],
  }));

  const metadata = async (req: ModelReq) => dp.modelMetadata(workspaceOf(req), req.params.name, req.params.version);
  const readyAnswer = obj({ name: { type: 'string' }, ready: { type: 'boolean' } });
  const read = (url: string, summary: string, response: Record<number, unknown>) =>
    ({ config: { permission: 'inference:read' as const }, schema: { tags: ['inference'], summary, params: paramsOf(url), response } });
  for (const url of ['/v2/models/:name', '/v2/models/:name/versions/:version']) {
    app.get(url, read(url, 'OIP model metadata', { 200: ref('OipModelMetadata') }), metadata);
  }

  const ready = async (req: ModelReq, reply: FastifyReply) => {
    const ok = await dp.modelReady(workspaceOf(req), req.params.name, req.params.version);
    return reply.status(ok ? 200 : 503).send({ name: req.params.name, ready: ok });
  };
  for (const url of ['/v2/models/:name/ready', '/v2/models/:name/versions/:version/ready']) {
    app.get(url, read(url, 'OIP model ready', { 200: readyAnswer, 503: { description: 'not deployed, or not running', ...readyAnswer } }), ready);
  }

  const infer = async (req: ModelReq, reply: FastifyReply) => {
    const type = req.headers['content-type'];
    if (type !== undefined && !ACCEPTED.test(type)) fail('UNSUPPORTED_MEDIA_TYPE', `content type '${type}' is not accepted; use application/json or application/octet-stream`);
    const body = Buffer.isBuffer(req.body) ? req.body : fail('INVALID_REQUEST', 'inference request has no body');
    const lengthHeader = req.headers[HEADER_LENGTH];
    const headerLength = lengthHeader === undefined ? undefined : Number(lengthHeader);
    const request = decodeInferRequest(body, headerLength);
    const { head, outputs } = await dp.infer(workspaceOf(req), {
      model: req.params.name, version: req.params.version, id: request.id, parameters: request.parameters, inputs: request.inputs,
      outputs: request.outputs?.map((o) => o.name),
    });
    const binary = request.outputs
      ? (n: string) => request.outputs!.find((o) => o.name === n)!.binary
      : () => request.binaryOutput;
    const encoded = encodeInferResponse(head, outputs, binary);
    if (encoded.headerLength !== undefined) {
      void reply.header('content-type', 'application/octet-stream').header(HEADER_LENGTH, String(encoded.headerLength));
    } else {
      void reply.header('content-type', 'application/json');
    }
    return reply.send(encoded.body);
  };
  for (const url of ['/v2/models/:name/infer', '/v2/models/:name/versions/:version/infer']) {
    app.post(url, {
      config: { permission: 'infer', ...inferBody },
      schema: {
        tags: ['inference'], summary: 'OIP infer', params: paramsOf(url),
        response: {
          200: {
            description: 'the outputs: JSON, or with binary outputs a JSON header followed by the raw tensor bytes',
            content: { 'application/json': { schema: ref('OipInferResponse') }, 'application/octet-stream': { schema: binary } },
          },
          ...errors(409, 503, 504),
        },
      },
    }, infer);
  }
};
