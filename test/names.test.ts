/**
 * Names and framework errors over HTTP: a name that may be created can always be addressed
 * (one limit for the name rule and the router), and every error Fastify or Node raises before a
 * route runs answers in the platform's `{error, code}` shape.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { NAME_MAX_LENGTH } from '../src/registry/index.ts';
import { type TestServer, call, expected, modelBytes, oipRequest, testServer } from './helpers.ts';

const longName = (c: string) => `${c}${'x'.repeat(NAME_MAX_LENGTH - 2)}${c}`;

/** `{error, code}` and nothing of Fastify's own shape (statusCode, message). */
function platformShape(r: { status: number; json: any; body: Buffer }, status: number, code: string) {
  assert.equal(r.status, status, r.body.toString());
  assert.deepEqual(Object.keys(r.json ?? {}).sort(), ['code', 'error'], r.body.toString());
  assert.equal(r.json.code, code, r.body.toString());
}

/** Sends raw bytes and reads the whole answer: for requests no HTTP client would send. */
function raw(port: number, bytes: string): Promise<{ status: number; json: any; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = net.connect(port, '127.0.0.1', () => sock.end(bytes));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body = Buffer.from(text.slice(text.indexOf('\r\n\r\n') + 4));
      let json: any;
      try { json = JSON.parse(body.toString()); } catch { json = undefined; }
      resolve({ status: Number(/^HTTP\/1\.1 (\d+)/.exec(text)?.[1]), json, body });
    });
  });
}

describe('names and framework errors', () => {
  let s: TestServer;
  before(async () => { s = await testServer({ bodyLimit: 1024 * 1024 }); });
  after(() => s.close());

  it(`takes a ${NAME_MAX_LENGTH}-character name through create, deploy, infer, undeploy (issue 10.5)`, async () => {
    const model = longName('m');
    const pipeline = longName('p');
    const e = expected('digits_mlp');
    const up = await call(s, 'POST', `/v1/models/${model}`, modelBytes('digits_mlp'), { 'content-type': 'application/octet-stream' });
    assert.equal(up.status, 201, up.body.toString());
    assert.equal((await call(s, 'GET', `/v1/models/${model}/versions/1`)).status, 200);
    const created = await call(s, 'POST', '/v1/pipelines', { name: pipeline, steps: [{ model }] });
    assert.equal(created.status, 201, created.body.toString());
    const deployed = await call(s, 'POST', `/v1/pipelines/${pipeline}/deploy`, {});
    assert.equal(deployed.status, 200, deployed.body.toString());
    const oip = await call(s, 'POST', `/v2/models/${pipeline}/infer`, oipRequest(e));
    assert.equal(oip.status, 200, oip.body.toString());
    assert.equal(oip.json.model_name, pipeline);
    const records = await call(s, 'POST', `/v1/pipelines/${pipeline}/infer`, [{ input: (e.inputs.input.data as number[]).slice(0, 64) }]);
    assert.equal(records.status, 200, records.body.toString());
    assert.equal((await call(s, 'GET', `/v2/models/${pipeline}/versions/1/ready`)).status, 200);
    assert.equal((await call(s, 'GET', `/v1/pipelines/${pipeline}/logs`)).status, 200);
    const undeployed = await call(s, 'POST', `/v1/pipelines/${pipeline}/undeploy`, {});
    assert.equal(undeployed.status, 200, undeployed.body.toString());
    const token = await call(s, 'POST', '/v1/tokens', { name: longName('t') });
    assert.equal(token.status, 201, token.body.toString());
    assert.equal((await call(s, 'DELETE', `/v1/tokens/${longName('t')}`)).status, 200);
  });

  it('refuses a name one character too long the same way in a body and in a path', async () => {
    const tooLong = `${longName('p')}x`;
    platformShape(await call(s, 'POST', '/v1/pipelines', { name: tooLong, steps: [{ model: 'm' }] }), 400, 'INVALID_NAME');
    for (const route of [`/v1/pipelines/${tooLong}`, `/v1/pipelines/${tooLong}/deploy`, `/v2/models/${tooLong}/infer`, `/v1/models/${tooLong}`]) {
      const post = route.endsWith('deploy') || route.endsWith('infer');
      const r = await call(s, post ? 'POST' : 'GET', route, post ? {} : undefined);
      platformShape(r, 400, 'INVALID_NAME');
      assert.match(r.json.error, new RegExp(`${NAME_MAX_LENGTH} characters`));
    }
  });

  it('refuses unicode names with INVALID_NAME, and answers unicode paths in the platform shape', async () => {
    for (const name of ['modèle', '模型', '🦘', 'ok-🦘', 'é'.repeat(NAME_MAX_LENGTH)]) {
      platformShape(await call(s, 'POST', '/v1/pipelines', { name, steps: [{ model: 'm' }] }), 400, 'INVALID_NAME');
      platformShape(await call(s, 'POST', '/v1/tokens', { name }), 400, 'INVALID_NAME');
      platformShape(await call(s, 'POST', '/v1/workspaces', { name }), 400, 'INVALID_NAME');
      const r = await call(s, 'GET', `/v1/pipelines/${encodeURIComponent(name)}`);
      assert.ok(r.status === 404 || r.status === 400, r.body.toString());
      platformShape(r, r.status, r.status === 404 ? 'PIPELINE_NOT_FOUND' : 'INVALID_NAME');
    }
  });

  it('answers a NUL character in a name, a reference or a path with a 4xx on both backends (PostgreSQL text holds none)', async () => {
    const nul = 'a\u0000b';
    const answers = [
      await call(s, 'POST', '/v1/pipelines', { name: 'nul-ref', steps: [{ model: nul }] }),
      await call(s, 'POST', '/v1/pipelines', { name: nul, steps: [{ model: 'm' }] }),
      await call(s, 'GET', `/v1/pipelines/${encodeURIComponent(nul)}`),
      await call(s, 'GET', `/v1/models/${encodeURIComponent(nul)}`),
    ];
    for (const r of answers) {
      assert.ok(r.status >= 400 && r.status < 500, `${r.status} ${r.body}`);
      assert.ok(r.json?.code && r.json.code !== 'INTERNAL', r.body.toString());
    }
  });

  it('maps every framework error into {error, code}', async () => {
    platformShape(await call(s, 'GET', '/v1/pipelines/%E0%A4%A'), 400, 'INVALID_REQUEST');
    platformShape(await call(s, 'POST', '/v1/pipelines', '{"name": ', { 'content-type': 'application/json' }), 400, 'INVALID_JSON');
    platformShape(await call(s, 'POST', '/v1/pipelines', '', { 'content-type': 'application/json' }), 400, 'INVALID_JSON');
    platformShape(await call(s, 'POST', '/v1/pipelines', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    platformShape(await call(s, 'POST', '/v1/pipelines', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), { 'content-type': 'application/json' }), 413, 'PAYLOAD_TOO_LARGE');
    platformShape(await call(s, 'POST', '/v1/pipelines', { name: 'p', steps: 'no' }), 400, 'INVALID_REQUEST');
    platformShape(await call(s, 'GET', '/v1/nowhere'), 404, 'ROUTE_NOT_FOUND');
    // Below Fastify: requests Node cannot parse as HTTP.
    platformShape(await raw(s.port, 'NOT HTTP AT ALL\r\n\r\n'), 400, 'INVALID_REQUEST');
    platformShape(await raw(s.port, `GET /v2/health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`), 431, 'HEADERS_TOO_LARGE');
  });
});
