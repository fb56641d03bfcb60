/** Inference over the Open Inference Protocol REST and records routes, against fixture outputs. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertClose, call, deployPipeline, expected, oipRequest, type TestServer, testServer } from './helpers.ts';

describe('OIP REST inference', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'digits', ['digits_mlp']);
    await deployPipeline(s, 'cancer', ['breast_cancer_logreg']);
    await deployPipeline(s, 'diabetes', ['diabetes_gbr']);
    await deployPipeline(s, 'types', ['all_types_identity']);
    await deployPipeline(s, 'addmul', ['add_mul']);
    await deployPipeline(s, 'chain', ['breast_cancer_scaler', 'breast_cancer_logreg_scaled']);
  });
  after(() => s.close());

  for (const [pipeline, fixture] of [['digits', 'digits_mlp'], ['cancer', 'breast_cancer_logreg'], ['diabetes', 'diabetes_gbr'], ['addmul', 'add_mul'], ['chain', 'breast_cancer_chain']]) {
    it(`answers ${pipeline} as Python ONNX Runtime did`, async () => {
      const e = expected(fixture);
      const r = await call(s, 'POST', `/v2/models/${pipeline}/infer`, oipRequest(e));
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(r.json.model_name, pipeline);
      assert.equal(r.json.model_version, '1');
      assert.deepEqual(r.json.outputs.map((o: any) => o.name).sort(), Object.keys(e.outputs).sort());
      for (const o of r.json.outputs) {
        assert.equal(o.datatype, e.outputs[o.name].datatype);
        assert.deepEqual(o.shape, e.outputs[o.name].shape);
        assertClose(o.data, e.outputs[o.name].data, 1e-5, o.name);
      }
    });
  }

  it('round-trips every OIP datatype in JSON', async () => {
    const e = expected('all_types_identity');
    const r = await call(s, 'POST', '/v2/models/types/infer', oipRequest(e));
    assert.equal(r.status, 200, r.body.toString());
    for (const o of r.json.outputs) {
      const want = e.outputs[o.name];
      assert.equal(o.datatype, want.datatype, o.name);
      assert.deepEqual(o.data, want.data, o.name);
    }
  });

  it('accepts nested row-major data, echoes the id and honours requested outputs', async () => {
    const e = expected('digits_mlp');
    const flat = e.inputs.input.data as number[];
    const nested = [0, 1, 2, 3, 4].map((i) => flat.slice(i * 64, (i + 1) * 64));
    const r = await call(s, 'POST', '/v2/models/digits/infer', {
      id: 'req-42', inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 64], data: nested }], outputs: [{ name: 'label' }],
    });
    assert.equal(r.status, 200);
    assert.equal(r.json.id, 'req-42');
    assert.deepEqual(r.json.outputs.map((o: any) => o.name), ['label']);
    assert.deepEqual(r.json.outputs[0].data, e.outputs.label.data);
  });

  it('speaks the binary tensor data extension both ways', async () => {
    const e = expected('digits_mlp');
    const raw = Buffer.from(new Float32Array(e.inputs.input.data as number[]).buffer);
    const header = Buffer.from(JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [5, 64], parameters: { binary_data_size: raw.length } }],
      outputs: [{ name: 'probabilities', parameters: { binary_data: true } }, { name: 'label', parameters: { binary_data: false } }],
    }));
    const r = await call(s, 'POST', '/v2/models/digits/infer', Buffer.concat([header, raw]), {
      'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length),
    });
    assert.equal(r.status, 200, r.body.toString());
    const hlen = Number(r.headers.get('inference-header-content-length'));
    const head = JSON.parse(r.body.subarray(0, hlen).toString());
    const probs = head.outputs.find((o: any) => o.name === 'probabilities');
    assert.equal(probs.parameters.binary_data_size, 5 * 10 * 4);
    assert.equal(probs.data, undefined);
    const bytes = r.body.subarray(hlen);
    const values = Array.from(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)));
    assertClose(values, e.outputs.probabilities.data, 1e-5, 'probabilities');
    assert.deepEqual(head.outputs.find((o: any) => o.name === 'label').data, e.outputs.label.data);
  });

  it('returns every output in binary when binary_data_output is set', async () => {
    const e = expected('add_mul');
    const r = await call(s, 'POST', '/v2/models/addmul/infer', oipRequest(e, { parameters: { binary_data_output: true } }));
    assert.equal(r.status, 200);
    const hlen = Number(r.headers.get('inference-header-content-length'));
    const head = JSON.parse(r.body.subarray(0, hlen).toString());
    assert.equal(r.body.length - hlen, head.outputs.reduce((n: number, o: any) => n + o.parameters.binary_data_size, 0));
  });

  it('serves a pinned version and refuses one that is not deployed', async () => {
    const e = expected('digits_mlp');
    assert.equal((await call(s, 'POST', '/v2/models/digits/versions/1/infer', oipRequest(e))).status, 200);
    const r = await call(s, 'POST', '/v2/models/digits/versions/9/infer', oipRequest(e));
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'PIPELINE_VERSION_NOT_FOUND');
  });

  it('answers health, server and model metadata as OIP clients expect', async () => {
    assert.deepEqual((await call(s, 'GET', '/v2/health/live')).json, { live: true });
    assert.deepEqual((await call(s, 'GET', '/v2/health/ready')).json, { ready: true });
    const meta = (await call(s, 'GET', '/v2')).json;
    assert.ok(meta.extensions.includes('binary_tensor_data'));
    const m = (await call(s, 'GET', '/v2/models/digits')).json;
    assert.deepEqual(m.inputs, [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }]);
    assert.equal(m.platform, 'onnx_onnxv1');
    assert.deepEqual((await call(s, 'GET', '/v2/models/digits/ready')).json, { name: 'digits', ready: true });
    assert.equal((await call(s, 'GET', '/v2/models/nope/ready')).status, 404);
  });

  describe('bad input gets a clear 4xx and the server keeps serving', () => {
    const digits = (over: Record<string, unknown>) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0), ...over }] });
    const cases: [string, () => Promise<{ status: number; json: any }>, number, string, RegExp][] = [
      ['malformed JSON', () => call(s, 'POST', '/v2/models/digits/infer', '{"inputs": [', { 'content-type': 'application/json' }), 400, 'INVALID_JSON', /not valid JSON/],
      ['wrong shape', () => call(s, 'POST', '/v2/models/digits/infer', digits({ shape: [1, 63], data: new Array(63).fill(0) })), 400, 'SHAPE_MISMATCH', /input 'input' has shape \[1, 63\]/],
      ['wrong datatype', () => call(s, 'POST', '/v2/models/digits/infer', digits({ datatype: 'FP64' })), 400, 'DATATYPE_MISMATCH', /FP64.*expects FP32/],
      ['unknown datatype', () => call(s, 'POST', '/v2/models/digits/infer', digits({ datatype: 'FP128' })), 400, 'UNKNOWN_DATATYPE', /FP128/],
      ['unknown input', () => call(s, 'POST', '/v2/models/digits/infer', digits({ name: 'pixels' })), 400, 'UNKNOWN_INPUT', /no input 'pixels'/],
      ['missing input', () => call(s, 'POST', '/v2/models/addmul/infer', { inputs: [{ name: 'a', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }] }), 400, 'MISSING_INPUT', /missing input 'b'/],
      ['data length not matching shape', () => call(s, 'POST', '/v2/models/digits/infer', digits({ data: new Array(60).fill(0) })), 400, 'DATA_LENGTH_MISMATCH', /needs 64 elements, data has 60/],
      ['a value of the wrong type', () => call(s, 'POST', '/v2/models/digits/infer', digits({ data: ['x', ...new Array(63).fill(0)] })), 400, 'INVALID_TENSOR', /element 0/],
      ['unknown output', () => call(s, 'POST', '/v2/models/digits/infer', { ...digits({}), outputs: [{ name: 'nope' }] }), 400, 'UNKNOWN_OUTPUT', /no output 'nope'/],
      ['no inputs', () => call(s, 'POST', '/v2/models/digits/infer', { inputs: [] }), 400, 'INVALID_REQUEST', /inputs/],
      ['binary size past the body', () => {
        const header = '{"inputs":[{"name":"input","datatype":"FP32","shape":[1,64],"parameters":{"binary_data_size":256}}]}';
        const body = Buffer.concat([Buffer.from(header), Buffer.alloc(100)]);
        return call(s, 'POST', '/v2/models/digits/infer', body, { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.length) });
      }, 400, 'DATA_LENGTH_MISMATCH', /past the end/],
      ['unknown pipeline', () => call(s, 'POST', '/v2/models/nope/infer', digits({})), 404, 'PIPELINE_NOT_FOUND', /pipeline 'nope' not found/],
      ['unsupported content type', () => call(s, 'POST', '/v2/models/digits/infer', 'a,b', { 'content-type': 'text/csv' }), 415, 'UNSUPPORTED_MEDIA_TYPE', /text\/csv/],
    ];
    for (const [what, send, status, code, message] of cases) {
      it(what, async () => {
        const r = await send();
        assert.equal(r.status, status, JSON.stringify(r.json));
        assert.equal(r.json.code, code);
        assert.match(r.json.error, message);
        const ok = await call(s, 'POST', '/v2/models/digits/infer', digits({}));
        assert.equal(ok.status, 200);
      });
    }
  });
});

describe('records inference', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'cancer', ['breast_cancer_logreg']);
    await deployPipeline(s, 'addmul', ['add_mul']);
  });
  after(() => s.close());

  it('takes DataFrame records and returns time, in.* and out.* columns', async () => {
    const e = expected('breast_cancer_logreg');
    const flat = e.inputs.input.data as number[];
    const records = [0, 1, 2, 3, 4].map((i) => ({ input: flat.slice(i * 30, (i + 1) * 30) }));
    const rows = await s.client.inferRecords('cancer', records);
    assert.equal(rows.length, 5);
    rows.forEach((row, i) => {
      assert.equal(typeof row.time, 'number');
      assertClose(row['in.input'] as number[], records[i].input, 1e-6, 'in.input');
      assert.equal(row['out.label'], e.outputs.label.data[i]);
      assertClose(row['out.probabilities'] as number[], (e.outputs.probabilities.data as number[]).slice(i * 2, i * 2 + 2), 1e-5, 'probabilities');
    });
  });

  it('stacks plain feature columns into a single tensor input', async () => {
    const e = expected('breast_cancer_logreg');
    const flat = e.inputs.input.data as number[];
    const records = [0, 1].map((i) => Object.fromEntries(flat.slice(i * 30, (i + 1) * 30).map((v, j) => [`f${j}`, v])));
    const rows = await s.client.inferRecords('cancer', records);
    assert.deepEqual(rows.map((r) => r['out.label']), e.outputs.label.data.slice(0, 2));
  });

  it('takes several input columns', async () => {
    const rows = await s.client.inferRecords('addmul', [{ a: [1, 2, 3], b: [10, 20, 30] }]);
    assert.deepEqual(rows[0]['out.sum'], [11, 22, 33]);
    assert.deepEqual(rows[0]['out.product'], [10, 40, 90]);
  });

  it('names the missing column, the unknown one and the bad value', async () => {
    let r = await call(s, 'POST', '/v1/pipelines/addmul/infer', [{ a: [1, 2, 3] }]);
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'MISSING_INPUT');
    assert.match(r.json.error, /no column 'b'/);
    r = await call(s, 'POST', '/v1/pipelines/addmul/infer', [{ a: [1, 2, 3], b: [1, 2, 3], c: 1 }]);
    assert.equal(r.json.code, 'UNKNOWN_INPUT');
    assert.match(r.json.error, /'c'/);
    r = await call(s, 'POST', '/v1/pipelines/addmul/infer', [{ a: [1, 2, 'x'], b: [1, 2, 3] }]);
    assert.equal(r.json.code, 'INVALID_TENSOR');
    r = await call(s, 'POST', '/v1/pipelines/addmul/infer', { not: 'records' });
    assert.equal(r.json.code, 'INVALID_REQUEST');
    r = await call(s, 'POST', '/v1/pipelines/addmul/infer'); // no body, no content type (a fuzzer's find)
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_REQUEST');
  });

  it('answers a large batch (parsed and written on codec threads) as it answers its rows one by one, and logs every row', async () => {
    const e = expected('breast_cancer_logreg');
    const flat = e.inputs.input.data as number[];
    const n = 3000; // a body of some 500 KB, an answer of 100,000 values
    const records = Array.from({ length: n }, (_, i) => ({ input: flat.slice((i % 5) * 30, (i % 5 + 1) * 30).map((v, j) => (j === 0 ? v + i / 7 : v)) }));
    const r = await call(s, 'POST', '/v1/pipelines/cancer/infer', { records, metadata: { batch: 'nightly' } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const rows = r.json as Record<string, unknown>[];
    assert.equal(rows.length, n);
    for (const i of [0, 1, 1234, n - 1]) {
      const [one] = await s.client.inferRecords('cancer', [records[i]]);
      assert.deepEqual(rows[i]['in.input'], one['in.input'], `row ${i} in.input`);
      assert.deepEqual(rows[i]['out.probabilities'], one['out.probabilities'], `row ${i} out.probabilities`);
      assert.equal(rows[i]['out.label'], one['out.label']);
    }
    const page = (await call(s, 'GET', '/v1/pipelines/cancer/logs?limit=10000')).json;
    const batch = page.records.filter((x: Record<string, unknown>) => x['metadata.batch'] === 'nightly');
    assert.equal(batch.length, n, 'every row of the batch in the log, with its metadata');
    assert.deepEqual(batch.map((x: Record<string, unknown>) => x['in.input']).sort(), rows.map((x) => x['in.input']).sort());
  });

  it('refuses a large bad body with the same codes as a small one, and keeps serving', async () => {
    const big = (row: Record<string, unknown>) => Array.from({ length: 6000 }, () => row);
    const cases: [string, unknown, string, RegExp][] = [
      ['missing column', JSON.stringify(big({ a: [1, 2, 3] })), 'MISSING_INPUT', /no column 'b'/],
      ['bad value', JSON.stringify(big({ a: [1, 2, 'x'], b: [1, 2, 3] })), 'INVALID_TENSOR', /./],
      ['not records', JSON.stringify({ not: 'records', pad: 'x'.repeat(100_000) }), 'INVALID_REQUEST', /array of records/],
      ['malformed JSON', `${JSON.stringify(big({ a: [1, 2, 3], b: [1, 2, 3] }))}]`, 'INVALID_JSON', /not valid JSON/],
      ['a __proto__ key', JSON.stringify(big({ a: [1, 2, 3], b: [1, 2, 3] })).replace('{"a"', '{"__proto__":{"x":1},"a"'), 'INVALID_JSON', /prototype/],
    ];
    for (const [what, body, code, message] of cases) {
      assert.ok((body as string).length >= 64 * 1024, `${what}: a large body`);
      const r = await call(s, 'POST', '/v1/pipelines/addmul/infer', body, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, what);
      assert.equal(r.json.code, code, what);
      assert.match(r.json.error, message, what);
    }
    const [row] = await s.client.inferRecords('addmul', [{ a: [1, 2, 3], b: [10, 20, 30] }]);
    assert.deepEqual(row['out.sum'], [11, 22, 33]);
  });
});

describe('request limits', () => {
  it('refuses a body over the configured limit with 413 and keeps serving', async () => {
    const s = await testServer({ bodyLimit: 4096 });
    try {
      await deployPipeline(s, 'digits', ['digits_mlp']);
      const big = { inputs: [{ name: 'input', datatype: 'FP32', shape: [40, 64], data: new Array(40 * 64).fill(1.5) }] };
      const r = await call(s, 'POST', '/v2/models/digits/infer', big);
      assert.equal(r.status, 413);
      assert.equal(r.json.code, 'PAYLOAD_TOO_LARGE');
      const ok = await call(s, 'POST', '/v2/models/digits/infer', { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0) }] });
      assert.equal(ok.status, 200);
    } finally {
      await s.close();
    }
  });
});
