/**
 * The server's log: one JSON line per HTTP request and per gRPC call, failures with their stack,
 * never a token or a body. In process with a captured stream, and through `bettong serve`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { loadOipProto } from '../src/server/grpc/index.ts';
import { BettongClient } from '../src/sdk/index.ts';
import { ROOT, type TestServer, call, eventually, expected, modelBytes, oipRequest, tempDir, testServer } from './helpers.ts';

const Service = (loadOipProto().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;
const secret = () => `btg_test_${crypto.randomBytes(24).toString('base64url')}`;
const cancer = expected('breast_cancer_logreg');

type Line = Record<string, any>;

function grpcCall(address: string, method: string, request: object, token?: string): Promise<unknown> {
  const client = new Service(address, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client[method](request, md, (err: grpc.ServiceError | null, res: unknown) => {
      client.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}

describe('request log (captured stream)', () => {
  const ADMIN = secret();
  const BAD = secret();
  let s: TestServer;
  let text = '';
  const stream = new PassThrough().on('data', (d) => { text += d; });
  const lines = (): Line[] => text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const forRequest = (pred: (l: Line) => boolean) => lines().filter((l) => l.msg !== 'Server listening at ' && pred(l));
  const hdr = { authorization: `Bearer ${ADMIN}` };

  before(async () => {
    s = await testServer({ auth: true, adminToken: ADMIN, grpcPort: 0, logLevel: 'info', logStream: stream });
    const admin = new BettongClient({ url: s.url, token: ADMIN });
    await admin.uploadModel('logreg', modelBytes('breast_cancer_logreg'));
    await admin.createPipeline('ok', [{ model: 'logreg' }]);
    await admin.deploy('ok');
    await admin.uploadModel('throws', fs.readFileSync(path.join(ROOT, 'testdata', 'steps', 'throws.ts')), { runtime: 'js' });
    await admin.createPipeline('throwing', [{ model: 'throws' }]);
    await admin.deploy('throwing');
  });
  after(async () => { await s?.close(); });

  it('writes one JSON line per request with id, route, status, duration and workspace', async () => {
    const before = lines().length;
    const body = oipRequest(cancer, { parameters: { note: 'zebra-body-marker' } });
    assert.equal((await call(s, 'POST', '/v2/models/ok/infer', body, hdr)).status, 200);
    assert.equal((await call(s, 'GET', '/v1/models')).status, 401);
    assert.equal((await call(s, 'GET', '/v1/models', undefined, { authorization: `Bearer ${BAD}` })).status, 401);
    assert.equal((await call(s, 'GET', '/no/such/route?token=x', undefined, hdr)).status, 404);
    const mine = await eventually(async () => { const l = lines().slice(before); return l.length >= 4 && l; }, 'four lines');
    assert.equal(mine.length, 4, 'one line per request');
    const [infer, noToken, badToken, missing] = mine;
    assert.equal(new Set(mine.map((l) => l.reqId)).size, 4);
    for (const l of mine) {
      assert.match(l.reqId, /^[0-9a-f-]{36}$/);
      assert.equal(l.transport, 'http');
      assert.equal(typeof l.durationMs, 'number');
      assert.equal(typeof l.time, 'number');
    }
    assert.deepEqual([infer.method, infer.route, infer.path, infer.status, infer.workspace, infer.level], ['POST', '/v2/models/:name/infer', '/v2/models/ok/infer', 200, 'default', 30]);
    assert.deepEqual([noToken.status, noToken.code, noToken.workspace], [401, 'UNAUTHENTICATED', undefined]);
    assert.equal(badToken.code, 'UNAUTHENTICATED');
    assert.deepEqual([missing.status, missing.route, missing.path], [404, null, '/no/such/route']);
  });

  it('logs a 5xx at error level with the stack, over REST and gRPC', async () => {
    const r = await call(s, 'POST', '/v2/models/throwing/infer', oipRequest(cancer), hdr);
    assert.equal(r.status, 500);
    const failed = await eventually(async () => forRequest((l) => l.path === '/v2/models/throwing/infer')[0], 'the 5xx line');
    assert.equal(failed.level, 50);
    assert.equal(failed.code, 'STEP_FAILED');
    assert.match(failed.err.message, /feature store unavailable/);
    assert.match(failed.err.stack, /\n\s+at /);

    const input = { name: 'input', datatype: 'FP32', shape: [1, 30], contents: { fp32_contents: new Array(30).fill(1) } };
    await assert.rejects(grpcCall(s.grpcAddress!, 'ModelInfer', { model_name: 'throwing', inputs: [input] }, ADMIN), { code: grpc.status.INTERNAL });
    await grpcCall(s.grpcAddress!, 'ModelInfer', { model_name: 'ok', inputs: [input] }, ADMIN);
    await assert.rejects(grpcCall(s.grpcAddress!, 'ModelMetadata', { name: 'ok' }), { code: grpc.status.UNAUTHENTICATED });
    const calls = await eventually(async () => { const l = forRequest((x) => x.transport === 'grpc'); return l.length >= 3 && l; }, 'three gRPC lines');
    assert.equal(calls.length, 3, 'one line per call');
    const [grpcFailed, grpcOk, grpcRefused] = calls;
    assert.deepEqual([grpcFailed.method, grpcFailed.status, grpcFailed.code, grpcFailed.level, grpcFailed.workspace], ['ModelInfer', 'INTERNAL', 'STEP_FAILED', 50, 'default']);
    assert.match(grpcFailed.err.stack, /feature store unavailable[\s\S]*\n\s+at /);
    assert.deepEqual([grpcOk.status, grpcOk.level, grpcOk.workspace], ['OK', 30, 'default']);
    assert.match(grpcOk.reqId, /^[0-9a-f-]{36}$/);
    assert.deepEqual([grpcRefused.method, grpcRefused.status, grpcRefused.code, grpcRefused.level], ['ModelMetadata', 'UNAUTHENTICATED', 'UNAUTHENTICATED', 30]);
  });

  it('never writes a token, an Authorization value or a body', () => {
    assert.ok(text.length > 0);
    for (const t of [ADMIN, BAD, 'Bearer', 'authorization', 'zebra-body-marker', 'token=x']) assert.ok(!text.includes(t), `${t} in the log`);
  });
});

describe('bettong serve: --log-level and BETTONG_LOG_LEVEL', () => {
  async function serveOnce(env: Record<string, string>, args: string[] = []): Promise<string> {
    const ADMIN = secret();
    const { BETTONG_LOG_LEVEL: _, ...inherited } = process.env;
    const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'bettong.mjs'), 'serve', '--auth', '--data-dir', tempDir(), '--port', '0', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...inherited, BETTONG_ADMIN_TOKEN: ADMIN, ...env },
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    try {
      const url = await eventually(async () => /listening on (http:\/\/\S+)/.exec(out)?.[1], 'serve to listen', 20_000);
      assert.equal((await call({ url }, 'GET', '/v1/models', undefined, { authorization: `Bearer ${ADMIN}` })).status, 200);
      assert.equal((await call({ url }, 'GET', '/v1/models', undefined, { authorization: `Bearer ${ADMIN}x` })).status, 401);
    } finally {
      proc.kill('SIGTERM');
      await exited;
    }
    assert.ok(!out.includes(ADMIN), 'the token never reaches the output');
    assert.ok(!/Bearer btg_/.test(out));
    return out;
  }
  const requestLines = (out: string): Line[] => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((l) => l.transport === 'http');

  it('logs requests by default, and none at --log-level warn (or BETTONG_LOG_LEVEL=warn)', async () => {
    const lines = requestLines(await serveOnce({}));
    assert.deepEqual(lines.map((l) => [l.route, l.status]), [['/v1/models', 200], ['/v1/models', 401]]);
    assert.deepEqual(requestLines(await serveOnce({ BETTONG_LOG_LEVEL: 'warn' })), []);
    assert.deepEqual(requestLines(await serveOnce({}, ['--log-level', 'error'])), []);
  });
});
