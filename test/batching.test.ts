/** Dynamic batching and replica workers, over HTTP against real servers. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ReplicaPool } from '../src/inference/replicas.ts';
import { DEFAULT_WORKSPACE_ID } from '../src/store/index.ts';
import { ROOT, assertClose, call, expected, modelBytes, type TestServer, testServer } from './helpers.ts';

const probe = fs.readFileSync(path.join(ROOT, 'testdata', 'steps', 'batch_probe.ts'));
const digits = expected('digits_mlp');
const digitRows = Array.from({ length: 5 }, (_, i) => (digits.inputs.input.data as number[]).slice(i * 64, (i + 1) * 64));

const probeRequest = (xs: number[]) => ({ inputs: [{ name: 'x', datatype: 'FP32', shape: [xs.length], data: xs }] });

describe('dynamic batching', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await s.client.uploadModel('probe', probe, { runtime: 'js' });
    await s.client.uploadModel('digits', modelBytes('digits_mlp'));
    await s.client.createPipeline('probe', [{ model: 'probe' }]);
    await s.client.createPipeline('digits', [{ model: 'digits' }]);
    await s.client.deploy('probe', { replicas: 0, max_batch_size: 8, max_delay_ms: 50 });
    await s.client.deploy('digits', { replicas: 1, max_batch_size: 16, max_delay_ms: 20 });
  });
  after(() => s.close());

  it('coalesces concurrent requests of mixed sizes, never past the limit, each caller getting its own rows in order', async () => {
    const sizes = [1, 3, 2, 1, 4, 1, 2, 5, 1, 3, 12, 1, 2, 1, 1, 3];
    let next = 0;
    const requests = sizes.map((n) => Array.from({ length: n }, () => next++));
    const answers = await Promise.all(requests.map((xs) => call(s, 'POST', '/v2/models/probe/infer', probeRequest(xs))));
    let coalesced = false;
    answers.forEach((r, i) => {
      assert.equal(r.status, 200, r.body.toString());
      const y = r.json.outputs.find((o: any) => o.name === 'y').data;
      const runRows = r.json.outputs.find((o: any) => o.name === 'run_rows').data as number[];
      assert.deepEqual(y, requests[i], 'own rows, in order');
      for (const n of runRows) assert.ok(n <= 8, `a run of ${n} rows exceeds max_batch_size 8`);
      if (runRows.some((n) => n > requests[i].length)) coalesced = true;
    });
    assert.ok(coalesced, 'some requests shared a run');
  });

  it('fails only the request whose data breaks the run', async () => {
    const requests = [[1, 2], [3], [-4, 5], [6], [7, 8]];
    const answers = await Promise.all(requests.map((xs) => call(s, 'POST', '/v2/models/probe/infer', probeRequest(xs))));
    answers.forEach((r, i) => {
      if (i === 2) {
        assert.equal(r.status, 500);
        assert.equal(r.json.code, 'STEP_FAILED');
        assert.match(r.json.error, /negative input -4/);
      } else {
        assert.equal(r.status, 200);
        assert.deepEqual(r.json.outputs[0].data, requests[i]);
      }
    });
  });

  it('gives the same answers as unbatched runs on a real model', async () => {
    const requests = Array.from({ length: 24 }, (_, i) => ({ rows: [i % 5, (i + 2) % 5].slice(0, 1 + (i % 2)) }));
    const answers = await Promise.all(requests.map(({ rows }) => call(s, 'POST', '/v2/models/digits/infer', {
      inputs: [{ name: 'input', datatype: 'FP32', shape: [rows.length, 64], data: rows.flatMap((r) => digitRows[r]) }],
    })));
    answers.forEach((r, i) => {
      assert.equal(r.status, 200);
      const rows = requests[i].rows;
      const probs = r.json.outputs.find((o: any) => o.name === 'probabilities').data;
      assertClose(probs, rows.flatMap((k) => (digits.outputs.probabilities.data as number[]).slice(k * 10, k * 10 + 10)), 1e-5);
      assert.deepEqual(r.json.outputs.find((o: any) => o.name === 'label').data, rows.map((k) => digits.outputs.label.data[k]));
    });
  });

  it('splits a request larger than the limit into runs within it', async () => {
    const xs = Array.from({ length: 20 }, (_, i) => i);
    const r = await call(s, 'POST', '/v2/models/probe/infer', probeRequest(xs));
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.outputs[0].data, xs);
    assert.ok((r.json.outputs[1].data as number[]).every((n) => n <= 8));
  });
});

describe('replica workers', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await s.client.uploadModel('probe', probe, { runtime: 'js' });
    await s.client.createPipeline('probe', [{ model: 'probe' }]);
    await s.client.deploy('probe', { replicas: 2 });
  });
  after(() => s.close());

  it('replaces a replica that dies; its in-flight requests get an error, not a hang', async () => {
    const pool = (await s.platform.deployments.get(DEFAULT_WORKSPACE_ID, 'probe')).runner as ReplicaPool;
    const inFlight = Array.from({ length: 6 }, (_, i) => call(s, 'POST', '/v2/models/probe/infer', probeRequest([i])));
    await new Promise((r) => setTimeout(r, 5));
    await pool.kill(0);
    const answers = await Promise.all(inFlight);
    const failed = answers.filter((r) => r.status !== 200);
    assert.ok(failed.length > 0 && failed.length < 6, `${failed.length} of 6 failed`);
    for (const r of failed) {
      assert.equal(r.status, 503);
      assert.equal(r.json.code, 'REPLICA_FAILED');
    }
    // The survivor answers at once, and the replacement soon after: all succeed again.
    for (let i = 0; i < 10; i++) assert.equal((await call(s, 'POST', '/v2/models/probe/infer', probeRequest([i]))).status, 200);
    const deadline = Date.now() + 20_000;
    let ok = 0;
    while (Date.now() < deadline && ok < 8) {
      const batch = await Promise.all(Array.from({ length: 8 }, (_, i) => call(s, 'POST', '/v2/models/probe/infer', probeRequest([i]))));
      ok = batch.filter((r) => r.status === 200).length;
    }
    assert.equal(ok, 8);
  });
});
