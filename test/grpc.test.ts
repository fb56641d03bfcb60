/**
 * The Open Inference Protocol over gRPC: a grpc-js client built from the server's own proto
 * drives a real server, against the fixtures' expected outputs.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { decodeGrpcInferRequest, encodeGrpcInferResponse, type GrpcTensor } from '../src/codecs/oip-grpc.ts';
import { type DataType, fromJsonData, toBytes } from '../src/codecs/tensor.ts';
import { float16BitsToNumber } from '../src/codecs/float16.ts';
import { ERROR_CODE_KEY, loadOipProto } from '../src/server/grpc/index.ts';
import { BettongClient } from '../src/sdk/index.ts';
import {
  ROOT, assertClose, call as http, deployPipeline, eventually, type Expected, expected, modelBytes, oipRequest, type TestServer, testServer,
} from './helpers.ts';

const Service = (loadOipProto().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor;

type Client = (method: string, request: object) => Promise<any>;

/** A client; `headers` become the metadata of every call (as tritonclient's `headers=`). */
function connect(address: string, headers: Record<string, string> = {}): { call: Client; close(): void } {
  const client = new Service(address, grpc.credentials.createInsecure());
  const call: Client = (method, request) => new Promise((resolve, reject) => {
    const md = new grpc.Metadata();
    for (const [k, v] of Object.entries(headers)) md.set(k, v);
    client[method](request, md, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
  });
  return { call, close: () => client.close() };
}

async function rejects(p: Promise<unknown>, status: grpc.status, message: RegExp, code?: string): Promise<void> {
  await assert.rejects(p, (e: grpc.ServiceError) => {
    assert.equal(e.code, status, `status ${grpc.status[e.code]}: ${e.details}`);
    assert.match(e.details, message);
    if (code) assert.deepEqual(e.metadata.get(ERROR_CODE_KEY), [code]);
    return true;
  });
}

/** A fixture's inputs as a raw-contents request. */
function rawRequest(model: string, e: Expected, extra: object = {}) {
  const inputs = Object.entries(e.inputs).map(([name, t]) => ({ name, datatype: t.datatype, shape: t.shape }));
  const raw = Object.entries(e.inputs).map(([name, t]) =>
    toBytes({ name, datatype: t.datatype as DataType, shape: t.shape, data: fromJsonData(name, t.datatype as DataType, t.shape, t.data) }));
  return { model_name: model, inputs, raw_input_contents: raw, ...extra };
}

/** Output values of a response (raw or typed) as JSON-like numbers/strings/booleans. */
function outputValues(res: any, name: string): unknown[] {
  const i = res.outputs.findIndex((o: any) => o.name === name);
  assert.ok(i >= 0, `output ${name} missing`);
  const o = res.outputs[i];
  if (res.raw_output_contents.length) {
    const bytes: Buffer = res.raw_output_contents[i];
    const copy = new Uint8Array(bytes).buffer;
    switch (o.datatype) {
      case 'BOOL': return Array.from(new Uint8Array(copy), (v) => v !== 0);
      case 'INT8': return Array.from(new Int8Array(copy));
      case 'INT16': return Array.from(new Int16Array(copy));
      case 'INT32': return Array.from(new Int32Array(copy));
      case 'INT64': return Array.from(new BigInt64Array(copy), Number);
      case 'UINT8': return Array.from(new Uint8Array(copy));
      case 'UINT16': return Array.from(new Uint16Array(copy));
      case 'UINT32': return Array.from(new Uint32Array(copy));
      case 'UINT64': return Array.from(new BigUint64Array(copy), Number);
      case 'FP16': return Array.from(new Uint16Array(copy), float16BitsToNumber);
      case 'FP32': return Array.from(new Float32Array(copy));
      case 'FP64': return Array.from(new Float64Array(copy));
      case 'BYTES': {
        const out: string[] = [];
        for (let at = 0; at < bytes.length;) {
          const n = bytes.readUInt32LE(at);
          out.push(bytes.toString('utf8', at + 4, at + 4 + n));
          at += 4 + n;
        }
        return out;
      }
    }
  }
  const c = o.contents;
  const field = Object.keys(c).find((k) => c[k].length > 0);
  if (!field) return [];
  const values: unknown[] = c[field];
  if (field === 'bytes_contents') return values.map((b) => (b as Buffer).toString('utf8'));
  if (field === 'int64_contents' || field === 'uint64_contents') return values.map(Number);
  return values;
}

const FIXTURES = [['digits', 'digits_mlp'], ['cancer', 'breast_cancer_logreg'], ['diabetes', 'diabetes_gbr'], ['addmul', 'add_mul'], ['chain', 'breast_cancer_chain']] as const;

describe('OIP over gRPC', () => {
  let s: TestServer;
  let call: Client;
  let close: () => void;
  before(async () => {
    s = await testServer({ grpcPort: 0 });
    ({ call, close } = connect(s.grpcAddress!));
    await deployPipeline(s, 'digits', ['digits_mlp']);
    await deployPipeline(s, 'cancer', ['breast_cancer_logreg']);
    await deployPipeline(s, 'diabetes', ['diabetes_gbr']);
    await deployPipeline(s, 'types', ['all_types_identity']);
    await deployPipeline(s, 'addmul', ['add_mul']);
    await deployPipeline(s, 'chain', ['breast_cancer_scaler', 'breast_cancer_logreg_scaled']);
    await s.client.createPipeline('idle', [{ model: 'digits_mlp' }]);
    await s.client.createPipeline('checked', [{ model: 'digits_mlp' }], { validations: { small: 'out.label < 3' } });
    await s.client.deploy('checked');
  });
  after(async () => {
    close();
    await s.close();
  });

  it('listens on its own port and answers health and server metadata', async () => {
    assert.match(s.grpcAddress!, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(s.grpcPort, s.port);
    assert.deepEqual(await call('ServerLive', {}), { live: true });
    assert.deepEqual(await call('ServerReady', {}), { ready: true });
    const meta = await call('ServerMetadata', {});
    assert.equal(meta.name, 'bettong');
    assert.ok(meta.version);
  });

  it('tells which pipelines are ready', async () => {
    assert.equal((await call('ModelReady', { name: 'digits' })).ready, true);
    assert.equal((await call('ModelReady', { name: 'digits', version: '1' })).ready, true);
    assert.equal((await call('ModelReady', { name: 'digits', version: '7' })).ready, false);
    assert.equal((await call('ModelReady', { name: 'idle' })).ready, false);
    assert.equal((await call('ModelReady', { name: 'no_such_pipeline' })).ready, false);
    await rejects(call('ModelReady', { name: 'digits', version: 'one' }), grpc.status.INVALID_ARGUMENT, /model_version/, 'INVALID_REQUEST');
  });

  it('serves model metadata with -1 for variable dimensions', async () => {
    for (const [pipeline, fixture] of FIXTURES) {
      const e = expected(fixture);
      const meta = await call('ModelMetadata', { name: pipeline });
      assert.equal(meta.name, pipeline);
      assert.deepEqual(meta.versions, ['1']);
      // Every step runs on ONNX Runtime, the chain's two included.
      assert.equal(meta.platform, 'onnx_onnxv1');
      assert.deepEqual(meta.inputs.map((t: any) => [t.name, t.datatype]), Object.entries(e.inputs).map(([n, t]) => [n, t.datatype]));
      assert.deepEqual(meta.outputs.map((t: any) => t.name).sort(), Object.keys(e.outputs).sort());
      assert.equal(Number(meta.inputs[0].shape[0]), -1);
    }
    assert.equal((await call('ModelMetadata', { name: 'digits', version: '1' })).name, 'digits');
    // The platform is the runtime's: JavaScript steps say so, and a pipeline mixing runtimes is a Bettong pipeline.
    await s.client.uploadModel('scale_features', fs.readFileSync(path.join(ROOT, 'testdata', 'steps', 'scale_features.ts')), { runtime: 'js' });
    await s.client.createPipeline('js_only', [{ model: 'scale_features' }]);
    await s.client.createPipeline('mixed', [{ model: 'scale_features' }, { model: 'breast_cancer_logreg' }]);
    assert.equal((await call('ModelMetadata', { name: 'js_only' })).platform, 'bettong_js');
    assert.equal((await call('ModelMetadata', { name: 'mixed' })).platform, 'bettong_pipeline');
    assert.equal((await http(s, 'GET', '/v2/models/js_only')).json.platform, 'bettong_js');
    await rejects(call('ModelMetadata', { name: 'no_such_pipeline' }), grpc.status.NOT_FOUND, /no_such_pipeline/, 'PIPELINE_NOT_FOUND');
  });

  for (const [pipeline, fixture] of FIXTURES) {
    it(`infers ${pipeline} with raw contents as Python ONNX Runtime did`, async () => {
      const e = expected(fixture);
      const res = await call('ModelInfer', rawRequest(pipeline, e));
      assert.equal(res.model_name, pipeline);
      assert.equal(res.model_version, '1');
      assert.equal(res.raw_output_contents.length, res.outputs.length);
      assert.deepEqual(res.outputs.map((o: any) => o.name).sort(), Object.keys(e.outputs).sort());
      for (const o of res.outputs) {
        const want = e.outputs[o.name];
        assert.equal(o.datatype, want.datatype);
        assert.deepEqual(o.shape.map(Number), want.shape);
        assertClose(outputValues(res, o.name), want.data, 1e-5, o.name);
      }
    });
  }

  it('infers with typed contents and answers in typed contents', async () => {
    const e = expected('digits_mlp');
    const res = await call('ModelInfer', {
      model_name: 'digits', inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 64], contents: { fp32_contents: e.inputs.input.data } }],
    });
    assert.equal(res.raw_output_contents.length, 0);
    const label = res.outputs.find((o: any) => o.name === 'label');
    assert.deepEqual(label.contents.int64_contents, ['0', '1', '2', '3', '4']);
    assertClose(outputValues(res, 'probabilities'), e.outputs.probabilities.data, 1e-5, 'probabilities');
  });

  it('round-trips every datatype through all_types_identity exactly (FP16 as raw bytes, INT64 exact)', async () => {
    const e = expected('all_types_identity');
    const res = await call('ModelInfer', rawRequest('types', e));
    for (const [name, want] of Object.entries(e.outputs)) {
      const o = res.outputs.find((x: any) => x.name === name);
      assert.equal(o.datatype, want.datatype, name);
      assert.deepEqual(outputValues(res, name), want.data, name);
    }
    const i = res.outputs.findIndex((o: any) => o.name === 'out_int64');
    const exact = Array.from(new BigInt64Array(new Uint8Array(res.raw_output_contents[i]).buffer), String);
    assert.deepEqual(exact, (e.inputs.in_int64.data as number[]).map((v) => BigInt(v).toString()));
  });

  it('carries typed contents of every datatype through protobuf, 64-bit integers exact', () => {
    const e = expected('all_types_identity');
    const typed: GrpcTensor[] = [];
    for (const [name, t] of Object.entries(e.inputs)) {
      if (t.datatype === 'FP16') continue;
      const data = fromJsonData(name, t.datatype as DataType, t.shape, t.data);
      // the response encoder writes the typed contents a client would send
      const [enc] = encodeGrpcInferResponse({ model_name: 'x', model_version: '1' }, [{ name, datatype: t.datatype as DataType, shape: t.shape, data }], false).outputs;
      typed.push(enc);
    }
    typed.push({ name: 'big', datatype: 'INT64', shape: [2], contents: { int64_contents: ['9223372036854775807', '-9223372036854775808'] } });
    typed.push({ name: 'ubig', datatype: 'UINT64', shape: [1], contents: { uint64_contents: ['18446744073709551615'] } });
    const method = Service.service.ModelInfer;
    const wire = method.requestSerialize({ model_name: 'types', inputs: typed });
    const decoded = decodeGrpcInferRequest(method.requestDeserialize(wire));
    assert.equal(decoded.raw, false);
    for (const t of decoded.inputs.slice(0, -2)) {
      const want = e.inputs[t.name];
      const got = t.datatype === 'BYTES' ? t.data : t.data instanceof BigInt64Array || t.data instanceof BigUint64Array ? Array.from(t.data, Number) : Array.from(t.data as Float64Array, (v) => (t.datatype === 'BOOL' ? v === 1 : v));
      assert.deepEqual(got, want.data, t.name);
    }
    assert.deepEqual(Array.from(decoded.inputs.at(-2)!.data as BigInt64Array, String), ['9223372036854775807', '-9223372036854775808']);
    assert.deepEqual(Array.from(decoded.inputs.at(-1)!.data as BigUint64Array, String), ['18446744073709551615']);
    const back = method.responseDeserialize(method.responseSerialize(encodeGrpcInferResponse({ model_name: 'x', model_version: '1' }, decoded.inputs.slice(-2), false)));
    assert.deepEqual(back.outputs[0].contents.int64_contents, ['9223372036854775807', '-9223372036854775808']);
    assert.deepEqual(back.outputs[1].contents.uint64_contents, ['18446744073709551615']);
  });

  it('echoes the id, honours requested outputs and the model version, and logs the request', async () => {
    const e = expected('digits_mlp');
    const res = await call('ModelInfer', rawRequest('digits', e, {
      id: 'grpc-42', model_version: '1', outputs: [{ name: 'label' }],
      parameters: { customer: { string_param: 'acme' }, priority: { int64_param: 3 }, trace: { bool_param: true } },
    }));
    assert.equal(res.id, 'grpc-42');
    assert.deepEqual(res.outputs.map((o: any) => o.name), ['label']);
    assert.deepEqual(outputValues(res, 'label'), e.outputs.label.data);
    const rows = await eventually(async () => {
      const page = await s.client.logs('digits');
      const mine = page.records.filter((r) => r['metadata.request_id'] === 'grpc-42');
      return mine.length === 5 && mine;
    }, 'the gRPC request logged');
    assert.equal(rows[0]['metadata.customer'], 'acme');
    assert.equal(rows[0]['metadata.priority'], 3);
    assert.equal(rows[0]['metadata.trace'], true);
    assert.deepEqual(rows.map((r) => r['out.label']).sort(), e.outputs.label.data);
    await rejects(call('ModelInfer', rawRequest('digits', e, { model_version: '99' })), grpc.status.NOT_FOUND, /99/, 'PIPELINE_VERSION_NOT_FOUND');
  });

  it('returns validation results in the response parameters', async () => {
    const res = await call('ModelInfer', rawRequest('checked', expected('digits_mlp')));
    assert.equal(res.parameters.anomaly_count.int64_param, '2');
    assert.deepEqual(JSON.parse(res.parameters.anomalies.string_param), [[], [], [], ['small'], ['small']]);
  });

  it('maps errors to gRPC statuses with the same messages as REST, and keeps serving', async () => {
    const e = expected('digits_mlp');
    const input = (shape: number[], datatype = 'FP32') => [{ name: 'input', datatype, shape }];
    const zeros = (n: number, bytes = 4) => [Buffer.alloc(n * bytes)];
    const cases: [object, grpc.status, RegExp, string][] = [
      [rawRequest('no_such_pipeline', e), grpc.status.NOT_FOUND, /pipeline 'no_such_pipeline' not found/, 'PIPELINE_NOT_FOUND'],
      [rawRequest('idle', e), grpc.status.FAILED_PRECONDITION, /idle/, 'PIPELINE_NOT_DEPLOYED'],
      [{ model_name: 'digits', inputs: input([5, 63]), raw_input_contents: zeros(5 * 63) }, grpc.status.INVALID_ARGUMENT, /input.*\[5, 63\]/, 'SHAPE_MISMATCH'],
      [{ model_name: 'digits', inputs: input([5, 64], 'FP64'), raw_input_contents: zeros(5 * 64, 8) }, grpc.status.INVALID_ARGUMENT, /FP64/, 'DATATYPE_MISMATCH'],
      [{ model_name: 'digits', inputs: input([5, 64]), raw_input_contents: zeros(5 * 64 - 1) }, grpc.status.INVALID_ARGUMENT, /'input'.*1280 bytes, got 1276/, 'DATA_LENGTH_MISMATCH'],
      [{ model_name: 'digits', inputs: input([1, 64], 'FP8'), raw_input_contents: zeros(64) }, grpc.status.INVALID_ARGUMENT, /unknown datatype "FP8"/, 'UNKNOWN_DATATYPE'],
      [{ model_name: 'digits', inputs: [...input([1, 64]), { name: 'x', datatype: 'FP32', shape: [1] }], raw_input_contents: zeros(64) }, grpc.status.INVALID_ARGUMENT, /raw_input_contents has 1 entries for 2 inputs/, 'INVALID_REQUEST'],
      [{ model_name: 'digits', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp64_contents: new Array(64).fill(0) } }] }, grpc.status.INVALID_ARGUMENT, /fp32_contents.*fp64_contents/, 'INVALID_TENSOR'],
      [{ model_name: 'digits', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], contents: { fp32_contents: [1] } }] }, grpc.status.INVALID_ARGUMENT, /needs 64 elements, data has 1/, 'DATA_LENGTH_MISMATCH'],
      [{ model_name: 'types', inputs: [{ name: 'in_float16', datatype: 'FP16', shape: [1], contents: {} }] }, grpc.status.INVALID_ARGUMENT, /FP16.*raw_input_contents/, 'INVALID_TENSOR'],
      [rawRequest('digits', e, { outputs: [{ name: 'nope' }] }), grpc.status.INVALID_ARGUMENT, /no output 'nope'/, 'UNKNOWN_OUTPUT'],
      [{ model_name: 'digits', inputs: [] }, grpc.status.INVALID_ARGUMENT, /at least one tensor/, 'INVALID_REQUEST'],
      [{ model_name: '', inputs: input([1, 64]) }, grpc.status.INVALID_ARGUMENT, /model_name/, 'INVALID_REQUEST'],
    ];
    for (const [request, status, message, code] of cases) await rejects(call('ModelInfer', request), status, message, code);
    assert.deepEqual(await call('ServerLive', {}), { live: true });
    const res = await call('ModelInfer', rawRequest('digits', e));
    assert.deepEqual(outputValues(res, 'label'), e.outputs.label.data);
  });
});

describe('gRPC server limits and shutdown', () => {
  it('refuses messages over the body limit and stops with the server', async () => {
    const s = await testServer({ grpcPort: 0, bodyLimit: 64 * 1024 });
    const { call, close } = connect(s.grpcAddress!);
    try {
      await deployPipeline(s, 'digits', ['digits_mlp']);
      const rows = 300; // 300 x 64 x 4 bytes > 64 KiB
      await rejects(call('ModelInfer', {
        model_name: 'digits', inputs: [{ name: 'input', datatype: 'FP32', shape: [rows, 64] }], raw_input_contents: [Buffer.alloc(rows * 64 * 4)],
      }), grpc.status.RESOURCE_EXHAUSTED, /larger than max/);
      const ok = await call('ModelInfer', { model_name: 'digits', inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64] }], raw_input_contents: [Buffer.alloc(256)] });
      assert.equal(ok.outputs.length, 2);
    } finally {
      await s.close();
    }
    await rejects(call('ServerLive', {}), grpc.status.UNAVAILABLE, /./);
    close();
  });
});

describe('OIP over gRPC with auth on: the REST role table, workspaces and the rate limit', () => {
  const secret = () => `btg_test_${crypto.randomBytes(24).toString('base64url')}`;
  const ADMIN = secret();
  const digits = expected('digits_mlp');
  const cancer = expected('breast_cancer_logreg');
  let s: TestServer;
  const tokens: Record<string, string> = { admin: ADMIN };
  const clients: { close(): void }[] = [];
  /** A gRPC client sending a token (and a workspace) in its metadata, as tritonclient's headers= does. */
  const as = (who: string | undefined, workspace?: string): Client => {
    const c = connect(s.grpcAddress!, {
      ...(who ? { authorization: `Bearer ${tokens[who] ?? who}` } : {}), ...(workspace ? { 'bettong-workspace': workspace } : {}),
    });
    clients.push(c);
    return c.call;
  };
  const restHeaders = (who: string, workspace?: string) => ({
    authorization: `Bearer ${tokens[who]}`, ...(workspace ? { 'bettong-workspace': workspace } : {}),
  });

  before(async () => {
    s = await testServer({ auth: true, adminToken: ADMIN, grpcPort: 0 });
    const admin = new BettongClient({ url: s.url, token: ADMIN, workspace: 'team-a' });
    await admin.createWorkspace('team-a');
    await admin.createWorkspace('w2');
    for (const [user, ws, role] of [['eddie', 'team-a', 'editor'], ['vera', 'team-a', 'viewer'], ['bob', 'w2', 'owner']] as const) {
      await admin.createUser(user);
      await admin.inWorkspace(ws).addMember(user, role);
      tokens[user] = (await admin.createToken('laptop', { user })).secret;
    }
    tokens.app = (await admin.createToken('app', { user: 'eddie', workspace: 'team-a', inferenceOnly: true })).secret;
    // "p" in team-a is the digits MLP; "p" in w2 is the breast-cancer model: the workspace picks which.
    await admin.uploadModel('digits', modelBytes('digits_mlp'));
    await admin.createPipeline('p', [{ model: 'digits' }]);
    await admin.deploy('p');
    const bob = new BettongClient({ url: s.url, token: tokens.bob, workspace: 'w2' });
    await bob.uploadModel('cancer', modelBytes('breast_cancer_logreg'));
    await bob.createPipeline('p', [{ model: 'cancer' }]);
    await bob.deploy('p');
  });
  after(async () => {
    for (const c of clients) c.close();
    await s?.close();
  });

  it('stays on with --auth: health is open, everything else needs a valid token (UNAUTHENTICATED)', async () => {
    const anonymous = as(undefined);
    assert.deepEqual(await anonymous('ServerLive', {}), { live: true });
    assert.deepEqual(await anonymous('ServerReady', {}), { ready: true });
    for (const [method, request] of [['ServerMetadata', {}], ['ModelMetadata', { name: 'p' }], ['ModelReady', { name: 'p' }], ['ModelInfer', rawRequest('p', digits)]] as const) {
      await rejects(anonymous(method, request), grpc.status.UNAUTHENTICATED, /Authorization: Bearer/, 'UNAUTHENTICATED');
      await rejects(as('btg_not-a-real-token')(method, request), grpc.status.UNAUTHENTICATED, /not valid/, 'UNAUTHENTICATED');
    }
  });

  it('applies the REST role table: each call is allowed or refused exactly as its REST route is', async () => {
    const calls: Record<string, { grpc: [string, object]; rest: [string, string, unknown?] }> = {
      'server metadata': { grpc: ['ServerMetadata', {}], rest: ['GET', '/v2'] },
      'model metadata': { grpc: ['ModelMetadata', { name: 'p' }], rest: ['GET', '/v2/models/p'] },
      'model ready': { grpc: ['ModelReady', { name: 'p' }], rest: ['GET', '/v2/models/p/ready'] },
      'infer': { grpc: ['ModelInfer', rawRequest('p', digits)], rest: ['POST', '/v2/models/p/infer', oipRequest(digits)] },
    };
    const allowed: Record<string, string[]> = {
      admin: Object.keys(calls), eddie: Object.keys(calls), app: Object.keys(calls),
      vera: ['server metadata', 'model metadata', 'model ready'],
    };
    for (const [who, ok] of Object.entries(allowed)) {
      for (const [action, c] of Object.entries(calls)) {
        const rest = await http(s, c.rest[0], c.rest[1], c.rest[2], restHeaders(who, 'team-a'));
        const over = as(who, 'team-a')(...c.grpc);
        if (ok.includes(action)) {
          assert.equal(rest.status, 200, `${who} ${action} over REST: ${rest.body}`);
          await over;
        } else {
          assert.equal(rest.status, 403, `${who} must not ${action}`);
          await rejects(over, grpc.status.PERMISSION_DENIED, new RegExp(rest.json.error.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'PERMISSION_DENIED');
        }
      }
    }
    await rejects(as('vera', 'team-a')('ModelInfer', rawRequest('p', digits)), grpc.status.PERMISSION_DENIED, /viewer in workspace 'team-a'; infer needs editor/);
  });

  it('an inference-only token infers over gRPC in its own workspace without naming it', async () => {
    const res = await as('app')('ModelInfer', rawRequest('p', digits));
    assert.deepEqual(outputValues(res, 'label'), digits.outputs.label.data);
    // ...and nowhere else: w2 is not its workspace (eddie is no member there: not found).
    await rejects(as('app', 'w2')('ModelInfer', rawRequest('p', cancer)), grpc.status.NOT_FOUND, /workspace 'w2' not found/, 'WORKSPACE_NOT_FOUND');
  });

  it('the bettong-workspace metadata picks the pipeline: the same name answers differently in w2', async () => {
    const inA = await as('admin', 'team-a')('ModelMetadata', { name: 'p' });
    const inW2 = await as('bob', 'w2')('ModelMetadata', { name: 'p' });
    assert.equal(inA.inputs[0].shape[1], '64');
    assert.equal(inW2.inputs[0].shape[1], '30');
    assert.equal((await as('bob', 'w2')('ModelReady', { name: 'p' })).ready, true);
    const res = await as('bob', 'w2')('ModelInfer', rawRequest('p', cancer));
    assertClose(outputValues(res, 'probabilities'), cancer.outputs.probabilities.data, 1e-5);
    // Without the metadata, an admin acts in the default workspace, where there is no "p".
    await rejects(as('admin')('ModelMetadata', { name: 'p' }), grpc.status.NOT_FOUND, /pipeline 'p' not found/, 'PIPELINE_NOT_FOUND');
    // A non-member naming another workspace gets what REST says: not found, like one that does not exist.
    for (const ws of ['team-a', 'no-such-workspace']) {
      const rest = await http(s, 'POST', '/v2/models/p/infer', oipRequest(digits), restHeaders('bob', ws));
      assert.equal(rest.status, 404);
      for (const [method, request] of [['ModelInfer', rawRequest('p', digits)], ['ModelMetadata', { name: 'p' }], ['ModelReady', { name: 'p' }]] as const) {
        await rejects(as('bob', ws)(method, request), grpc.status.NOT_FOUND, new RegExp(`^${rest.json.error}$`), 'WORKSPACE_NOT_FOUND');
      }
    }
  });

  it('logs gRPC inferences in the workspace they ran in', async () => {
    await as('bob', 'w2')('ModelInfer', rawRequest('p', cancer, { id: 'grpc-w2' }));
    const bob = new BettongClient({ url: s.url, token: tokens.bob, workspace: 'w2' });
    await eventually(async () => (await bob.logs('p', { limit: 1000 })).records.some((r) => r['metadata.request_id'] === 'grpc-w2'), 'the w2 log row');
    const admin = new BettongClient({ url: s.url, token: ADMIN, workspace: 'team-a' });
    assert.ok(!(await admin.logs('p', { limit: 1000 })).records.some((r) => r['metadata.request_id'] === 'grpc-w2'));
  });
});

describe('OIP over gRPC: the per-token rate limit', () => {
  it('takes infer calls from the same bucket as REST and answers RESOURCE_EXHAUSTED with retry-after', async () => {
    const ADMIN = `btg_test_${crypto.randomBytes(24).toString('base64url')}`;
    const s = await testServer({ auth: true, adminToken: ADMIN, grpcPort: 0, rateLimit: { perSecond: 0.05, burst: 3 } }); // a slow refill: no request comes back during the test
    const { call, close } = connect(s.grpcAddress!, { authorization: `Bearer ${ADMIN}` });
    try {
      const admin = new BettongClient({ url: s.url, token: ADMIN });
      await admin.uploadModel('digits', modelBytes('digits_mlp'));
      await admin.createPipeline('p', [{ model: 'digits' }]);
      await admin.deploy('p');
      const e = expected('digits_mlp');
      await call('ModelInfer', rawRequest('p', e));
      await call('ModelInfer', rawRequest('p', e));
      assert.equal((await http(s, 'POST', '/v2/models/p/infer', oipRequest(e), { authorization: `Bearer ${ADMIN}` })).status, 200);
      await assert.rejects(call('ModelInfer', rawRequest('p', e)), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /rate limit/);
        assert.deepEqual(err.metadata.get(ERROR_CODE_KEY), ['RATE_LIMITED']);
        assert.ok(Number(err.metadata.get('retry-after')[0]) >= 1);
        return true;
      });
      // Metadata calls are not inference: they are not limited.
      for (let i = 0; i < 5; i++) await call('ModelMetadata', { name: 'p' });
    } finally {
      close();
      await s.close();
    }
  });
});
