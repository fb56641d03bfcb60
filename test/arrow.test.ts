/** Apache Arrow IPC on the records route, with the real fixture models, against their expected outputs. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  Field, FixedSizeList, Float32, Float64, List, Table, makeData, tableFromIPC, tableToIPC, vectorFromArray, Vector,
} from 'apache-arrow';
import { batchToTable } from '../src/codecs/arrow.ts';
import { type DataType, fromJsonData } from '../src/codecs/tensor.ts';
import { assertClose, call, deployPipeline, eventually, expected, type TestServer, testServer } from './helpers.ts';

const STREAM = 'application/vnd.apache.arrow.stream';
const FILE = 'application/vnd.apache.arrow.file';

/** A FixedSizeList<float32> column from row-major values. */
function rowsColumn(values: number[], width: number): Vector {
  const child = makeData({ type: new Float32(), length: values.length, nullCount: 0, data: new Float32Array(values) });
  const type = new FixedSizeList(width, new Field('item', new Float32(), false));
  return new Vector([makeData({ type, length: values.length / width, nullCount: 0, child })]);
}

const flat = (v: unknown): unknown[] => (v && typeof v === 'object' && Symbol.iterator in v ? [...(v as Iterable<unknown>)].flatMap(flat) : [v]);
const column = (t: Table, name: string) => {
  const c = t.getChild(name);
  assert.ok(c, `column ${name} missing; have ${t.schema.fields.map((f) => f.name).join(', ')}`);
  return [...c].flatMap(flat).map((v) => (typeof v === 'bigint' ? Number(v) : v));
};

async function postArrow(s: TestServer, pipeline: string, table: Table, type = STREAM, headers: Record<string, string> = {}) {
  const format = type === FILE ? 'file' : 'stream';
  return call(s, 'POST', `/v1/pipelines/${pipeline}/infer`, tableToIPC(table, format), { 'content-type': type, ...headers });
}

describe('Arrow IPC on the records route', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'digits', ['digits_mlp']);
    await deployPipeline(s, 'cancer', ['breast_cancer_logreg']);
    await deployPipeline(s, 'types', ['all_types_identity']);
    await deployPipeline(s, 'addmul', ['add_mul']);
    await s.client.createPipeline('checked', [{ model: 'digits_mlp' }], { validations: { small: 'out.label < 3' } });
    await s.client.deploy('checked');
  });
  after(() => s.close());

  for (const [pipeline, fixture, type] of [['digits', 'digits_mlp', STREAM], ['cancer', 'breast_cancer_logreg', FILE]] as const) {
    it(`answers ${pipeline} as Python ONNX Runtime did (${type})`, async () => {
      const e = expected(fixture);
      const input = e.inputs.input;
      const r = await postArrow(s, pipeline, new Table({ input: rowsColumn(input.data as number[], input.shape[1]) }), type);
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(r.headers.get('content-type'), type);
      const t = tableFromIPC(r.body);
      assert.equal(t.numRows, input.shape[0]);
      assert.deepEqual(t.schema.fields.map((f) => f.name), ['time', 'in.input', ...Object.keys(e.outputs).map((o) => `out.${o}`)]);
      assertClose(column(t, 'in.input'), input.data, 0, 'in.input');
      for (const [name, want] of Object.entries(e.outputs)) assertClose(column(t, `out.${name}`), want.data, 1e-5, name);
      const time = t.getChild('time')!.get(0) as number;
      assert.ok(Math.abs(time - Date.now()) < 60_000, `time ${time}`);
    });
  }

  it('round-trips every datatype through the all_types_identity model', async () => {
    const e = expected('all_types_identity');
    const batch = Object.entries(e.inputs).map(([name, t]) => {
      const dt = t.datatype as DataType;
      return { name, datatype: dt, shape: t.shape, data: fromJsonData(name, dt, t.shape, t.data) };
    });
    const r = await postArrow(s, 'types', batchToTable(batch));
    assert.equal(r.status, 200, r.body.toString());
    const t = tableFromIPC(r.body);
    for (const [name, want] of Object.entries(e.outputs)) {
      const got = column(t, `out.${name}`);
      if (want.datatype === 'BOOL') assert.deepEqual(got, want.data, name);
      else assertClose(got, want.data, 0, name);
    }
  });

  it('takes a plain feature table (pandas float64 columns) and List columns', async () => {
    const e = expected('breast_cancer_logreg');
    const data = e.inputs.input.data as number[];
    const features = Object.fromEntries(Array.from({ length: 30 }, (_, c) =>
      [`f${c}`, vectorFromArray(Array.from({ length: 5 }, (_, r) => data[r * 30 + c]), new Float64())]));
    const r = await postArrow(s, 'cancer', new Table(features));
    assert.equal(r.status, 200, r.body.toString());
    assertClose(column(tableFromIPC(r.body), 'out.label'), e.outputs.label.data, 0, 'label');

    const a = expected('add_mul');
    const list = new List(new Field('item', new Float64(), true));
    const rows = (v: number[]) => [v.slice(0, 3), v.slice(3, 6)];
    const r2 = await postArrow(s, 'addmul', new Table({
      a: vectorFromArray(rows(a.inputs.a.data as number[]), list), b: vectorFromArray(rows(a.inputs.b.data as number[]), list),
    }), FILE);
    assert.equal(r2.status, 200, r2.body.toString());
    const t2 = tableFromIPC(r2.body);
    assertClose(column(t2, 'out.sum'), a.outputs.sum.data, 1e-5, 'sum');
    assertClose(column(t2, 'out.product'), a.outputs.product.data, 1e-5, 'product');
  });

  it('answers in the format the Accept header asks for, JSON included', async () => {
    const e = expected('digits_mlp');
    const table = new Table({ input: rowsColumn(e.inputs.input.data as number[], 64) });
    const asFile = await postArrow(s, 'digits', table, STREAM, { accept: FILE });
    assert.equal(asFile.headers.get('content-type'), FILE);
    assert.equal(asFile.body.subarray(0, 6).toString(), 'ARROW1');
    assertClose(column(tableFromIPC(asFile.body), 'out.label'), e.outputs.label.data, 0);
    const asJson = await postArrow(s, 'digits', table, STREAM, { accept: 'application/json' });
    assert.match(asJson.headers.get('content-type')!, /^application\/json/);
    assert.deepEqual(asJson.json.map((row: any) => row['out.label']), e.outputs.label.data);
    const jsonIn = await call(s, 'POST', '/v1/pipelines/digits/infer', [{ input: (e.inputs.input.data as number[]).slice(0, 64) }], { accept: STREAM });
    assert.equal(jsonIn.headers.get('content-type'), STREAM);
    assert.deepEqual(column(tableFromIPC(jsonIn.body), 'out.label'), [e.outputs.label.data[0]]);
  });

  it('adds anomaly columns when the pipeline has validations, and logs every row', async () => {
    const e = expected('digits_mlp');
    const r = await postArrow(s, 'checked', new Table({ input: rowsColumn(e.inputs.input.data as number[], 64) }));
    assert.equal(r.status, 200, r.body.toString());
    const t = tableFromIPC(r.body);
    assert.deepEqual(column(t, 'anomaly.count'), [0, 0, 0, 1, 1]);
    assert.deepEqual(column(t, 'anomaly.small'), [false, false, false, true, true]);
    const page = await eventually(async () => {
      const p = await s.client.logs('checked');
      return p.records.length === 5 && p;
    }, '5 logged rows');
    assert.deepEqual(page.records.map((row) => row['out.label']).sort(), e.outputs.label.data);
  });

  it('refuses bad tables with a clear error and keeps serving', async () => {
    const e = expected('digits_mlp');
    const cases: [Table | Buffer, string, RegExp, number][] = [
      [new Table({ input: rowsColumn(new Array(63 * 2).fill(0), 63) }), 'SHAPE_MISMATCH', /input.*63|63.*input/, 400],
      [new Table({ input: rowsColumn(e.inputs.input.data as number[], 64), extra: vectorFromArray([1, 2, 3, 4, 5]) }), 'UNKNOWN_INPUT', /'extra'/, 400],
      [new Table({ input: vectorFromArray([[1, 2], [3]], new List(new Field('item', new Float64(), true))) }), 'SHAPE_MISMATCH', /column 'input'/, 400],
      [Buffer.from('not arrow at all'), 'INVALID_REQUEST', /Arrow/, 400],
    ];
    for (const [body, code, message, status] of cases) {
      const r = body instanceof Table ? await postArrow(s, 'digits', body) : await call(s, 'POST', '/v1/pipelines/digits/infer', body, { 'content-type': STREAM });
      assert.equal(r.status, status, r.body.toString());
      assert.equal(r.json.code, code);
      assert.match(r.json.error, message);
    }
    const missing = await postArrow(s, 'nope', new Table({ input: rowsColumn(e.inputs.input.data as number[], 64) }));
    assert.equal(missing.status, 404);
    assert.equal(missing.json.code, 'PIPELINE_NOT_FOUND');
    const unsupported = await call(s, 'POST', '/v1/pipelines/digits/infer', Buffer.from('x'), { 'content-type': 'application/vnd.apache.parquet' });
    assert.equal(unsupported.status, 415);
    assert.equal(unsupported.json.code, 'UNSUPPORTED_MEDIA_TYPE');
    // JSON records still work as before
    const ok = await call(s, 'POST', '/v1/pipelines/digits/infer', [{ input: (e.inputs.input.data as number[]).slice(0, 64) }]);
    assert.equal(ok.status, 200);
    assert.equal(ok.json[0]['out.label'], e.outputs.label.data[0]);
  });
});
