/** Registering models over HTTP: signatures, content addressing, versions, refusals. */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, modelBytes, type TestServer, testServer } from './helpers.ts';

const files = (dir: string): string[] =>
  fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name) : [];

describe('model registry', () => {
  let s: TestServer;
  before(async () => { s = await testServer(); });
  after(() => s.close());

  it('reads the signature with dynamic dimensions and stores the artifact by sha256', async () => {
    const bytes = modelBytes('digits_mlp');
    const r = await call(s, 'POST', '/v1/models/digits', bytes, { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 201);
    assert.equal(r.json.version, 1);
    assert.equal(r.json.sha256, crypto.createHash('sha256').update(bytes).digest('hex'));
    assert.deepEqual(r.json.signature, {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, 64] }],
      outputs: [{ name: 'label', datatype: 'INT64', shape: [-1] }, { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }],
    });
    assert.ok(fs.existsSync(path.join(s.dataDir, 'artifacts', 'sha256', r.json.sha256.slice(0, 2), r.json.sha256)));
  });

  it('returns the existing version for identical content and a new version for new content', async () => {
    const again = await s.client.uploadModel('digits', modelBytes('digits_mlp'));
    assert.equal(again.version, 1);
    assert.equal(again.created, false);
    const next = await s.client.uploadModel('digits', modelBytes('breast_cancer_logreg'));
    assert.equal(next.version, 2);
    assert.equal(next.created, true);
    const m = await s.client.getModel('digits');
    assert.deepEqual(m.versions.map((v) => v.version), [1, 2]);
    assert.equal(m.versions[1].signature.inputs[0].shape[1], 30);
    const list = await s.client.listModels();
    assert.deepEqual(list.map((x) => [x.name, x.latest_version, x.versions]), [['digits', 2, 2]]);
  });

  it('downloads the exact artifact', async () => {
    const bytes = await s.client.downloadModel('digits', 1);
    assert.deepEqual(Buffer.from(bytes), modelBytes('digits_mlp'));
    const r = await call(s, 'GET', '/v1/models/digits/versions/7/artifact');
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'MODEL_VERSION_NOT_FOUND');
  });

  it('refuses a corrupt file with 422 and leaves no trace', async () => {
    const before = files(path.join(s.dataDir, 'artifacts'));
    const corrupt = Buffer.concat([modelBytes('digits_mlp').subarray(0, 500), Buffer.from('garbage')]);
    for (const body of [Buffer.from('this is not an onnx model'), corrupt]) {
      const r = await call(s, 'POST', '/v1/models/broken', body, { 'content-type': 'application/octet-stream' });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'INVALID_MODEL');
      assert.match(r.json.error, /not a loadable ONNX model/);
    }
    assert.equal((await call(s, 'GET', '/v1/models/broken')).status, 404);
    assert.deepEqual(files(path.join(s.dataDir, 'artifacts')), before);
  });

  it('refuses a ZipMap classifier at upload, saying how to export it', async () => {
    const r = await call(s, 'POST', '/v1/models/zipmap', modelBytes('breast_cancer_logreg_zipmap'), { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 422);
    assert.equal(r.json.code, 'UNSUPPORTED_MODEL_OUTPUT');
    assert.match(r.json.error, /output_probability.*zipmap.*False/s);
  });

  it('refuses empty uploads, bad names and unknown models clearly', async () => {
    let r = await call(s, 'POST', '/v1/models/empty', Buffer.alloc(0), { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 422);
    r = await call(s, 'POST', '/v1/models/bad%20name', modelBytes('add_mul'), { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 400);
    assert.equal(r.json.code, 'INVALID_NAME');
    r = await call(s, 'GET', '/v1/models/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'MODEL_NOT_FOUND');
  });

  it('publishes its REST API as OpenAPI', async () => {
    const r = await call(s, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.equal(r.json.openapi, '3.1.0');
    for (const p of ['/v1/models/{name}', '/v1/pipelines', '/v1/pipelines/{name}/deploy', '/v1/pipelines/{name}/logs', '/v2/models/{name}/infer']) {
      assert.ok(r.json.paths[p], `missing ${p}`);
    }
  });
});
