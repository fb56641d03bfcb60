/**
 * Pipelines for production over HTTP: JavaScript steps, A/B splits, shadows, validations,
 * compare, and hot swap under load.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, call, eventually, expected, modelBytes, oipRequest, type TestServer, testServer } from './helpers.ts';

const step = (file: string) => fs.readFileSync(path.join(ROOT, 'testdata', 'steps', `${file}.ts`));
const cancer = expected('breast_cancer_logreg');
const cancerRows = (cancer.inputs.input.data as number[]).reduce<number[][]>((rows, x, i) => {
  if (i % 30 === 0) rows.push([]);
  rows.at(-1)!.push(x);
  return rows;
}, []);

describe('pipelines for production', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await s.client.uploadModel('logreg', modelBytes('breast_cancer_logreg'));
    await s.client.uploadModel('logreg_scaled', modelBytes('breast_cancer_logreg_scaled'));
    for (const f of ['labeler', 'scale_features', 'mean_model', 'throws', 'malformed', 'hang', 'slow', 'region_x2', 'region_x3']) {
      await s.client.uploadModel(f, step(f), { runtime: 'js' });
    }
  });
  after(() => s.close());

  describe('JavaScript steps', () => {
    it('registers a module with its signature and refuses broken ones at upload', async () => {
      const m = await s.client.getModel('labeler');
      assert.equal(m.versions[0].runtime, 'js');
      assert.deepEqual(m.versions[0].signature.outputs.map((o) => [o.name, o.datatype]), [['diagnosis', 'BYTES'], ['score', 'FP32']]);
      for (const [src, why] of [
        ['export const signature = {', /not a loadable JavaScript/],
        ['export function predict() { return {}; }', /signature is missing/],
        ["export const signature = { inputs: [{ name: 'a', datatype: 'FP99', shape: [-1] }], outputs: [] }; export function predict() {}", /unknown datatype/],
        ["export const signature = { inputs: [{ name: 'a', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'b', datatype: 'FP32', shape: [-1] }] };", /no predict function/],
        ["throw new Error('boom at import');", /boom at import/],
      ] as const) {
        const r = await call(s, 'POST', '/v1/models/broken?runtime=js', Buffer.from(src), { 'content-type': 'application/octet-stream' });
        assert.equal(r.status, 422, src);
        assert.equal(r.json.code, 'INVALID_MODEL');
        assert.match(r.json.error, why);
      }
      assert.equal((await call(s, 'GET', '/v1/models/broken')).status, 404);
    });

    it('runs pre- and post-processing around an ONNX model', async () => {
      await s.client.createPipeline('processed', [{ model: 'scale_features' }, { model: 'logreg' }, { model: 'labeler' }]);
      await s.client.deploy('processed');
      const raw = cancerRows.map((r) => r.map((x) => x * 2));
      const rows = await s.client.inferRecords('processed', raw.map((r) => ({ raw: r })));
      rows.forEach((row, i) => {
        assert.equal(row['out.diagnosis'], 'malignant');
        assert.ok(Math.abs((row['out.score'] as number) - (cancer.outputs.probabilities.data[i * 2] as number)) < 1e-5);
      });
    });

    it('serves a custom JavaScript model like any other', async () => {
      await s.client.createPipeline('custom', [{ model: 'mean_model' }, { model: 'labeler' }]);
      await s.client.deploy('custom');
      const r = await call(s, 'POST', '/v2/models/custom/infer', oipRequest(cancer));
      assert.equal(r.status, 200, r.body.toString());
      assert.deepEqual(r.json.outputs.find((o: any) => o.name === 'diagnosis').data, ['malignant', 'malignant', 'malignant', 'malignant', 'malignant']);
    });

    it('fails only the request when a step throws or returns a malformed batch, naming the step', async () => {
      await s.client.createPipeline('throwing', [{ model: 'throws' }]);
      await s.client.createPipeline('malformed', [{ model: 'logreg' }, { model: 'malformed' }]);
      await s.client.deploy('throwing');
      await s.client.deploy('malformed');
      let r = await call(s, 'POST', '/v2/models/throwing/infer', oipRequest(cancer));
      assert.equal(r.status, 500);
      assert.equal(r.json.code, 'STEP_FAILED');
      assert.match(r.json.error, /step 1 \(throws:1\).*feature store unavailable/);
      r = await call(s, 'POST', '/v2/models/malformed/infer', oipRequest(cancer));
      assert.equal(r.json.code, 'STEP_FAILED');
      assert.match(r.json.error, /step 2 \(malformed:1\).*malformed batch.*1 rows, expected 5/);
      assert.equal((await call(s, 'POST', '/v2/models/processed/infer', { inputs: [{ name: 'raw', datatype: 'FP32', shape: [1, 30], data: cancerRows[0] }] })).status, 200);
    });

    it('cuts off a step that never returns and keeps serving', async () => {
      await s.client.createPipeline('hanging', [{ model: 'logreg' }, { model: 'hang' }]);
      await s.client.deploy('hanging', { step_timeout_ms: 300 });
      const r = await call(s, 'POST', '/v1/pipelines/hanging/infer', [{ input: cancerRows[0] }]);
      assert.equal(r.status, 504);
      assert.equal(r.json.code, 'STEP_TIMEOUT');
      assert.match(r.json.error, /step 2 \(hang:1\).*300 ms/);
      const ok = await call(s, 'POST', '/v1/pipelines/hanging/infer', [{ input: new Array(30).fill(0) }]);
      assert.equal(ok.status, 200, ok.body.toString());
      assert.equal(ok.json[0]['out.diagnosis'], 'ok');
    });
  });

  describe('A/B steps', () => {
    const armsOf = async (pipeline: string, n: number) => {
      const page = await eventually(async () => {
        const p = await s.client.logs(pipeline, { limit: 10_000 });
        return p.records.length >= n && p;
      }, `${n} rows of ${pipeline}`);
      return page.records.map((r) => (r['metadata.models'] as any[])[0].name as string);
    };

    it('splits 10,000 rows by weight 2:1:1 within statistical tolerance and logs the arm of each row', async () => {
      await s.client.createPipeline('ab', [{ ab: { arms: [{ model: 'logreg', weight: 2 }, { model: 'logreg_scaled', weight: 1 }, { model: 'mean_model', weight: 1 }] } }]);
      await s.client.deploy('ab');
      const rows = Array.from({ length: 1000 }, (_, i) => ({ input: cancerRows[i % 5] }));
      for (let i = 0; i < 10; i++) await s.client.inferRecords('ab', rows);
      const arms = await armsOf('ab', 10_000);
      const share = (m: string) => arms.filter((a) => a === m).length / arms.length;
      // 4 standard deviations of a binomial share at n = 10,000 is at most 0.02.
      assert.ok(Math.abs(share('logreg') - 0.5) < 0.02, `logreg ${share('logreg')}`);
      assert.ok(Math.abs(share('logreg_scaled') - 0.25) < 0.0175, `logreg_scaled ${share('logreg_scaled')}`);
      assert.ok(Math.abs(share('mean_model') - 0.25) < 0.0175, `mean_model ${share('mean_model')}`);
    });

    it('keeps a user on one arm when a key is hashed', async () => {
      await s.client.createPipeline('sticky', [{ ab: { arms: [{ model: 'logreg' }, { model: 'logreg_scaled' }], key: 'metadata.user_id' } }]);
      await s.client.deploy('sticky');
      const users = Array.from({ length: 20 }, (_, i) => `user-${i}`);
      for (const user of users) {
        for (let i = 0; i < 3; i++) await s.client.inferRecords('sticky', [{ input: cancerRows[0] }, { input: cancerRows[1] }], { user_id: user });
      }
      const page = await eventually(async () => {
        const p = await s.client.logs('sticky', { limit: 200 });
        return p.records.length === 120 && p;
      });
      const byUser = new Map<string, Set<string>>();
      for (const r of page.records) {
        const u = r['metadata.user_id'] as string;
        byUser.set(u, (byUser.get(u) ?? new Set()).add((r['metadata.models'] as any[])[0].name));
      }
      assert.equal(byUser.size, 20);
      for (const [u, arms] of byUser) assert.equal(arms.size, 1, `user ${u} saw ${[...arms]}`);
      assert.equal(new Set([...byUser.values()].map((a) => [...a][0])).size, 2, 'twenty users spread over both arms');
    });

    it('splits by a key deterministically: a metadata key, or an input column per row', async () => {
      await s.client.createPipeline('bykey', [{ ab: { arms: [{ model: 'logreg' }, { model: 'mean_model' }], split: 'key', key: 'metadata.country', mapping: { nz: 'mean_model' }, default: 'logreg' } }]);
      await s.client.deploy('bykey');
      let r = await call(s, 'POST', '/v1/pipelines/bykey/infer', { records: [{ input: cancerRows[0] }], metadata: { country: 'nz' } });
      assert.deepEqual(r.json[0]['out.probabilities'], [0.9, 0.1].map(Math.fround));
      r = await call(s, 'POST', '/v1/pipelines/bykey/infer', { records: [{ input: cancerRows[0] }], metadata: { country: 'au' } });
      assert.ok(Math.abs(r.json[0]['out.probabilities'][0] - 1) < 1e-4);

      await s.client.createPipeline('region', [{ ab: { arms: [{ model: 'region_x2' }, { model: 'region_x3' }], key: 'in.region', mapping: { eu: 'region_x3' } } }]);
      await s.client.deploy('region');
      r = await call(s, 'POST', '/v1/pipelines/region/infer', [{ region: 'us', x: 1 }, { region: 'eu', x: 1 }, { region: 'us', x: 2 }, { region: 'eu', x: 2 }]);
      assert.deepEqual(r.json.map((row: any) => row['out.y']), [2, 3, 4, 6], 'each row answered by its arm, in order');
      const logged = await eventually(async () => {
        const p = await s.client.logs('region', { start: 0 });
        return p.records.length === 4 && p;
      });
      assert.deepEqual(logged.records.map((x) => (x['metadata.models'] as any[])[0].name), ['region_x2', 'region_x3', 'region_x2', 'region_x3']);
    });

    it('refuses arms that do not match and keys that are not columns', async () => {
      let r = await call(s, 'POST', '/v1/pipelines', { name: 'badab', steps: [{ ab: { arms: [{ model: 'logreg' }, { model: 'labeler' }] } }] });
      assert.equal(r.status, 422);
      assert.equal(r.json.code, 'INVALID_PIPELINE');
      assert.match(r.json.error, /arm labeler:1/);
      r = await call(s, 'POST', '/v1/pipelines', { name: 'badab', steps: [{ ab: { arms: [{ model: 'logreg' }, { model: 'mean_model' }], key: 'in.nope' } }] });
      assert.match(r.json.error, /key 'in.nope'/);
      r = await call(s, 'POST', '/v1/pipelines', { name: 'badab', steps: [{ ab: { arms: [{ model: 'logreg' }, { model: 'mean_model' }], split: 'key', key: 'metadata.x', mapping: { a: 'other' } } }] });
      assert.match(r.json.error, /'other' is not an arm/);
    });
  });

  describe('shadow steps', () => {
    it('answers with the champion only, logs challengers, and survives failing and slow challengers', async () => {
      await s.client.createPipeline('shadowed', [{ shadow: { champion: { model: 'logreg' }, challengers: [{ model: 'mean_model' }, { model: 'throws' }, { model: 'slow' }] } }]);
      await s.client.deploy('shadowed');
      const started = Date.now();
      const r = await call(s, 'POST', '/v2/models/shadowed/infer', oipRequest(cancer, { id: 'shadow-1' }));
      const elapsed = Date.now() - started;
      assert.equal(r.status, 200);
      assert.ok(elapsed < 2000, `the slow (3 s) challenger delayed the answer: ${elapsed} ms`);
      const probs = r.json.outputs.find((o: any) => o.name === 'probabilities').data;
      assert.ok(Math.abs(probs[0] - (cancer.outputs.probabilities.data[0] as number)) < 1e-5, 'the champion answered');
      const page = await eventually(async () => {
        const p = await s.client.logs('shadowed');
        return p.records.length === 5 && p;
      }, 'shadow rows logged', 8000);
      const row = page.records.at(-1)!;
      assert.deepEqual(row['shadow.mean_model.probabilities'], [0.9, 0.1].map(Math.fround));
      assert.match(row['shadow.throws.error'] as string, /feature store unavailable/);
      assert.deepEqual(row['shadow.slow.label'], 1);
      assert.equal(row['metadata.request_id'], 'shadow-1');
    });
  });

  describe('validations', () => {
    it('checks rules at create time, naming the rule', async () => {
      for (const [rule, why] of [
        ['out.nope > 1', /validation 'bad': unknown column 'out.nope'/],
        ['out.probabilities > 0.5', /pick one with \[index\]/],
        ['out.probabilities[5] > 0.5', /out of range/],
        ['out.label + 1', /must be a condition/],
        ['out.label > "x"', /needs numbers/],
        ['out.label >', /cannot parse/],
        ['process.exit()', /not a column|unknown function/],
      ] as const) {
        const r = await call(s, 'POST', '/v1/pipelines', { name: 'v', steps: [{ model: 'logreg' }], validations: { bad: rule } });
        assert.equal(r.status, 422, rule);
        assert.equal(r.json.code, 'INVALID_VALIDATION');
        assert.match(r.json.error, why, rule);
      }
    });

    it('flags rows that break a rule in the answer, the logs and the compare summary', async () => {
      await s.client.createPipeline('validated', [{ model: 'logreg' }, { model: 'labeler' }], {
        validations: { confident: 'out.score >= 0.99 or out.score <= 0.01', benign: 'out.diagnosis == "benign"', sane: 'abs(in.input[0]) < 1000 and not (out.score < 0)' },
      });
      await s.client.deploy('validated');
      const rows = await s.client.inferRecords('validated', cancerRows.map((input) => ({ input })));
      assert.deepEqual(rows.map((r) => r['anomaly.benign']), [true, true, true, true, true]);
      assert.deepEqual(rows.map((r) => r['anomaly.sane']), [false, false, false, false, false]);
      rows.forEach((r) => assert.equal(r['anomaly.count'], 1 + Number(r['anomaly.confident'])));
      const oip = await call(s, 'POST', '/v2/models/validated/infer', oipRequest(cancer));
      assert.equal(oip.json.parameters.anomalies.length, 5);
      assert.ok(oip.json.parameters.anomalies.every((a: string[]) => a.includes('benign')));
      await s.client.inferRecords('validated', [{ input: new Array(30).fill(0) }]);
      const flagged = await eventually(async () => {
        const all = await s.client.logs('validated');
        return all.records.length === 11 && s.client.logs('validated', { anomaly: true });
      });
      assert.equal(flagged.records.length, 10);
      assert.ok(flagged.records.every((r) => (r['anomaly.count'] as number) >= 1 && r['anomaly.benign'] === true));
      const clean = await s.client.logs('validated', { anomaly: false });
      assert.equal(clean.records.length, 1);
      const cmp = await s.client.compare('validated');
      assert.equal(cmp.groups[0].rows, 11);
      assert.ok(Math.abs(cmp.groups[0].validation_failure_rate! - 10 / 11) < 1e-9);
    });
  });

  describe('compare', () => {
    it('summarizes each arm and each challenger', async () => {
      const cmp = await s.client.compare('ab');
      const arms = cmp.groups.filter((g) => g.role === 'answer');
      assert.deepEqual(arms.map((g) => g.models).sort(), ['logreg:1', 'logreg_scaled:1', 'mean_model:1']);
      assert.equal(arms.reduce((n, g) => n + g.rows, 0), 10_000);
      for (const g of arms) {
        assert.ok(g.latency_ms && g.latency_ms.p50 <= g.latency_ms.p95 && g.latency_ms.p95 <= g.latency_ms.p99);
        const p1 = g.outputs['probabilities[1]'];
        assert.ok(p1.count === g.rows && p1.min! <= p1.p50! && p1.p50! <= p1.max!);
      }
      const shadow = await s.client.compare('shadowed');
      assert.deepEqual(shadow.groups.map((g) => `${g.role} ${g.models}`).sort(), ['answer logreg:1', 'shadow mean_model', 'shadow slow', 'shadow throws']);
      assert.equal(shadow.groups.find((g) => g.models === 'throws')!.errors, 5);
    });
  });

  describe('hot swap', () => {
    it('replaces a model under concurrent load with no failed request; logs show who answered each row', async () => {
      await s.client.createPipeline('live', [{ model: 'logreg' }]);
      await s.client.deploy('live', { replicas: 2 });
      const body = oipRequest(cancer);
      let swapped = false;
      let swapDone = 0;
      const results: { ok: boolean; version: string; id: string; sentAfterSwap: boolean }[] = [];
      const worker = async (w: number) => {
        // Bounded: at most 400 requests per worker and 10 s.
        const deadline = Date.now() + 10_000;
        let afterSwap = 0;
        for (let i = 0; i < 400 && Date.now() < deadline; i++) {
          if (swapDone && Date.now() - swapDone > 300 && afterSwap >= 5) break;
          if (swapped) afterSwap++;
          const id = `w${w}-${i}`;
          const sentAfterSwap = swapped;
          const r = await call(s, 'POST', '/v2/models/live/infer', { ...body, id });
          results.push({ ok: r.status === 200, version: r.json?.model_version, id, sentAfterSwap });
        }
      };
      const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
      await eventually(async () => results.length >= 40, 'load under way');
      const st = await s.client.swap('live', { step: 1, model: 'logreg_scaled' });
      swapped = true;
      swapDone = Date.now();
      await load;
      assert.equal(st.pipeline_version, 2);
      assert.ok(results.filter((r) => r.sentAfterSwap).length >= 40, 'load continued after the swap');
      assert.deepEqual(results.filter((r) => !r.ok), [], 'no request failed during the swap');
      assert.ok(results.some((r) => r.version === '1') && results.some((r) => r.version === '2'));
      assert.ok(results.filter((r) => r.sentAfterSwap).every((r) => r.version === '2'), 'requests sent after the swap returned are answered by the new version');
      const logs = await eventually(async () => {
        const all = [];
        for await (const r of s.client.iterateLogs('live', { start: 0 })) all.push(r);
        return all.length === results.length * 5 && all;
      }, 'every row logged');
      const byId = new Map(results.map((r) => [r.id, r.version]));
      for (const row of logs) {
        const model = (row['metadata.models'] as any[])[0].name;
        assert.equal(String(row['metadata.pipeline_version']), byId.get(row['metadata.request_id'] as string));
        assert.equal(model, row['metadata.pipeline_version'] === 1 ? 'logreg' : 'logreg_scaled');
      }
    });

    it('promotes a winner: an A/B step replaced by one arm', async () => {
      const st = await s.client.swap('ab', { step: 1, model: 'logreg_scaled' });
      assert.equal(st.status, 'running');
      const v = await s.client.getPipeline('ab');
      assert.equal(v.latest.steps[0].kind, 'model');
      const one = await s.client.swap('sticky', { step: 1, replace: 'logreg_scaled', model: 'mean_model' });
      const p = await s.client.getPipeline('sticky');
      assert.equal(one.pipeline_version, 2);
      assert.deepEqual((p.latest.steps[0] as any).arms.map((a: any) => a.model), ['logreg', 'mean_model']);
    });
  });
});
