/**
 * Ground truth and performance monitors over HTTP, against a real model (breast cancer logistic
 * regression, a worse challenger in shadow): labels uploaded as JSON, CSV, Arrow and Parquet;
 * keys by the caller's metadata id and by request id + row; replacement with history; unmatched
 * labels listed; labels that arrive before their prediction; previews whose accuracy equals the
 * metric over the joined rows; a saved monitor that waits (pending) for its labels, estimates with
 * CBPE meanwhile, finalises when labels come and alerts a loopback webhook on the bad window.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { classificationMetrics } from '../src/monitoring/performance/metrics.ts';
import { ROOT, call, eventually, expected, modelBytes, tempDir, type TestServer, testServer } from './helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deterministic rows of 30 features: the fixture's 5 (malignant) sample rows scaled by 0.6–0.85, which the model splits between both classes. */
function rows(n: number, seed: number): { input: number[] }[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const sample = expected('breast_cancer_logreg').inputs.input.data as number[];
  return Array.from({ length: n }, () => {
    const base = Math.floor(rand() * 5) * 30;
    const scale = 0.6 + 0.25 * rand();
    return { input: Array.from({ length: 30 }, (_, j) => sample[base + j] * scale * (1 + 0.05 * (rand() - 0.5))) };
  });
}

async function deployShadowed(s: TestServer): Promise<void> {
  for (const m of ['breast_cancer_logreg', 'breast_cancer_logreg_scaled']) await s.client.uploadModel(m, modelBytes(m));
  await s.client.createPipeline('bc', [{ shadow: { champion: { model: 'breast_cancer_logreg' }, challengers: [{ model: 'breast_cancer_logreg_scaled' }] } }]);
  await s.client.deploy('bc');
}

/** Infers rows with a transaction id each; answers the predicted labels. */
async function inferWithIds(s: TestServer, ids: string[], seed: number): Promise<number[]> {
  const out = await s.client.inferRecords('bc', rows(ids.length, seed), { transaction_id: ids });
  return out.map((r) => r['out.label'] as number);
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

const definition = (extra: Record<string, unknown> = {}) => ({
  pipeline: 'bc', task: 'classification', key: 'metadata.transaction_id', label: 'is_malignant',
  prediction: { column: 'out.label' }, probabilities: { column: 'out.probabilities' }, metric: 'accuracy', ...extra,
});

describe('feedback: formats, keys, replacement, unmatched labels', () => {
  let s: TestServer;
  let predictedA: number[];
  let labelsA: number[];
  before(async () => {
    s = await testServer();
    await deployShadowed(s);
    predictedA = await inferWithIds(s, ids('a', 40), 1);
    // every fifth label disagrees with the model
    labelsA = predictedA.map((p, i) => (i % 5 === 0 ? 1 - p : p));
  });
  after(() => s.close());

  it('JSON records keyed by a metadata id: all matched', async () => {
    const r = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', ids('a', 40).map((transaction_id, i) => ({ transaction_id, is_malignant: labelsA[i] })));
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual(r.json, { pipeline: 'bc', key: 'metadata.transaction_id', labels: ['is_malignant'], received: 40, replaced: 0, matched: 40, unmatched: 0 });
  });

  it('CSV labels for predictions never logged are counted and listed, not dropped', async () => {
    const r = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', 'transaction_id,is_malignant\nzz-1,1\nzz-2,0\n', { 'content-type': 'text/csv' });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.json.unmatched, 2);
    const u = await call(s, 'GET', '/v1/pipelines/bc/feedback/unmatched');
    assert.equal(u.json.count, 2);
    assert.deepEqual(u.json.labels.map((l: { key: string; labels: unknown }) => [l.key, l.labels]), [
      ['metadata.transaction_id:zz-1', { is_malignant: 1 }], ['metadata.transaction_id:zz-2', { is_malignant: 0 }],
    ]);
  });

  it('labels that arrive before their prediction match once it is logged', async () => {
    const early = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', { records: ids('b', 10).map((transaction_id) => ({ transaction_id, is_malignant: 1 })) });
    assert.equal(early.json.unmatched, 10);
    assert.equal((await call(s, 'GET', '/v1/pipelines/bc/feedback/unmatched')).json.count, 12);
    await inferWithIds(s, ids('b', 10), 2);
    await eventually(async () => (await call(s, 'GET', '/v1/pipelines/bc/feedback/unmatched')).json.count === 2, 'b-* matched');
  });

  it('Arrow IPC: a later label replaces the earlier one', async () => {
    const table = tableFromArrays({ transaction_id: ['a-1'], is_malignant: Int32Array.from([1 - labelsA[1]]) });
    const r = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', tableToIPC(table, 'stream'), { 'content-type': 'application/vnd.apache.arrow.stream' });
    assert.equal(r.status, 200, r.body.toString());
    assert.equal(r.json.replaced, 1);
    labelsA[1] = 1 - labelsA[1];
    const history = await s.platform.db.selectFrom('feedback_labels').select(['labels', 'replaced_at']).where('key', '=', 'metadata.transaction_id:a-1').orderBy('id').execute();
    assert.equal(history.length, 2, 'the replaced label is kept');
    assert.notEqual(history[0].replaced_at, null);
    assert.equal(history[1].replaced_at, null);
  });

  it('Parquet (pyarrow, snappy) is read', async () => {
    const bytes = fs.readFileSync(path.join(ROOT, 'testdata/performance/labels.parquet'));
    const r = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', bytes, { 'content-type': 'application/vnd.apache.parquet' });
    assert.equal(r.status, 200, r.body.toString());
    assert.deepEqual([r.json.received, r.json.unmatched, r.json.labels], [5, 5, ['is_malignant']]);
  });

  it('keys by request id and row: the id the records route answers with', async () => {
    const res = await call(s, 'POST', '/v1/pipelines/bc/infer', rows(3, 9));
    const requestId = res.headers.get('x-request-id');
    assert.ok(requestId);
    const r = await call(s, 'POST', '/v1/pipelines/bc/feedback', [0, 1, 2].map((row) => ({ request_id: requestId, row, is_malignant: res.json[row]['out.label'] })));
    assert.deepEqual([r.json.key, r.json.matched, r.json.unmatched], ['request_id', 3, 0]);
    const p = await call(s, 'POST', '/v1/monitors/preview', { ...definition({ key: 'request_id' }), window: { width: '1h', start: Date.now() - 1_800_000 }, start: Date.now() - 1_800_000, end: Date.now() + 1_800_000 });
    assert.equal(p.status, 200, p.body.toString());
    assert.deepEqual([p.json.windows[0].labelled, p.json.windows[0].value], [3, 1]);
  });

  it('a preview joins the labels: accuracy, F1 and the confusion matrix are those of the joined rows; the challenger is judged on the same labels', async () => {
    const now = Date.now();
    const p = await call(s, 'POST', '/v1/monitors/preview', { ...definition({ metric: 'f1' }), window: { width: '1h', start: now - 1_800_000 }, start: now - 1_800_000, end: now + 1_800_000 });
    assert.equal(p.status, 200, p.body.toString());
    const w = p.json.windows[0];
    // a-* (40) and b-* (10) carry transaction ids; the request-id rows (3) have none
    assert.equal(w.count, 53);
    assert.equal(w.labelled, 50);
    assert.equal(w.coverage, 50 / 53);
    const want = classificationMetrics({
      truth: [...labelsA, ...new Array(10).fill(1)].map(String),
      predicted: predictedA.map(String).concat(await predictedOf(s, ids('b', 10))), positive: '1',
    });
    assert.equal(w.metrics.accuracy, want.metrics.accuracy);
    assert.equal(w.value, want.metrics.f1);
    assert.deepEqual(w.confusion_matrix, want.confusion_matrix);
    assert.deepEqual(w.arms.map((a: { models: string; labelled: number }) => [a.models, a.labelled]), [['breast_cancer_logreg:1', 50]]);
    assert.equal(w.challengers.length, 1);
    assert.equal(w.challengers[0].challenger, 'breast_cancer_logreg_scaled');
    assert.equal(w.challengers[0].labelled, 50);
    assert.ok(w.challengers[0].value < w.value, `the challenger, fed unscaled inputs, is worse on outcomes (F1): ${JSON.stringify(w.challengers[0])}`);
  });

  it('compare shows each arm and challenger on outcomes, through a saved monitor', async () => {
    const m = await call(s, 'POST', '/v1/monitors', { name: 'f1', ...definition({ metric: 'f1' }), window: { width: '1d' } });
    assert.equal(m.status, 201, m.body.toString());
    const c = await s.client.compare('bc', { monitor: 'f1' });
    const answer = c.groups.find((g) => g.role === 'answer') as unknown as { performance: { labelled: number; value: number; metrics: { accuracy: number } } };
    const shadow = c.groups.find((g) => g.role === 'shadow') as unknown as { performance: { labelled: number; value: number } };
    assert.equal(answer.performance.labelled, 50);
    assert.equal(shadow.performance.labelled, 50);
    assert.ok(shadow.performance.value < answer.performance.value);
  });

  it('bad uploads name the field and lose nothing', async () => {
    const noKey = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', [{ is_malignant: 1 }]);
    assert.deepEqual([noKey.status, noKey.json.code], [400, 'INVALID_FEEDBACK']);
    assert.match(noKey.json.error, /transaction_id/);
    const badKey = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=input', [{ input: 1, y: 1 }]);
    assert.deepEqual([badKey.status, badKey.json.code], [400, 'INVALID_FEEDBACK']);
    const badParquet = await call(s, 'POST', '/v1/pipelines/bc/feedback', Buffer.from('not parquet'), { 'content-type': 'application/vnd.apache.parquet' });
    assert.deepEqual([badParquet.status, badParquet.json.code], [400, 'INVALID_FEEDBACK']);
    const noPipeline = await call(s, 'POST', '/v1/pipelines/nope/feedback', [{ request_id: 'x', y: 1 }]);
    assert.equal(noPipeline.status, 404);
    const badMonitor = await call(s, 'POST', '/v1/monitors/preview', { ...definition({ metric: 'rmse' }), window: { width: '1h' } });
    assert.deepEqual([badMonitor.status, badMonitor.json.code], [400, 'INVALID_MONITOR']);
    assert.match(badMonitor.json.error, /'metric'/);
    assert.equal((await call(s, 'GET', '/v1/pipelines/bc/feedback/unmatched')).json.count, 7);
  });
});

/** The champion's logged labels of rows with these transaction ids, in id order. */
async function predictedOf(s: TestServer, txIds: string[]): Promise<string[]> {
  const page = await s.client.logs('bc', { start: 0, limit: 1000 });
  const byId = new Map<string, unknown>();
  // rows of one request are logged in order: the k-th row of a request carries the k-th id
  const perRequest = new Map<string, { ids: string[]; labels: unknown[] }>();
  for (const r of page.records) {
    const t = r['metadata.transaction_id'];
    if (!Array.isArray(t)) continue;
    const rid = r['metadata.request_id'] as string;
    const e = perRequest.get(rid) ?? { ids: t as string[], labels: [] };
    e.labels.push(r['out.label']);
    perRequest.set(rid, e);
  }
  for (const e of perRequest.values()) e.ids.forEach((id, i) => byId.set(id, e.labels[i]));
  return txIds.map((id) => String(byId.get(id)));
}

describe('a saved monitor: pending until its labels come, CBPE meanwhile, an alert on the bad window', () => {
  let s: TestServer;
  let hook: http.Server;
  const received: { event: string; source: string; value: number; window: { index: number } }[] = [];
  before(async () => {
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => { received.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    s = await testServer({ assays: { graceMs: 100, recheckMs: 200, allowPrivateWebhooks: true } });
    await deployShadowed(s);
  });
  after(async () => { await s.close(); hook.close(); });

  it('finalises each window once labelled and posts performance.alert for the window whose accuracy fell', async () => {
    const width = 1500;
    const t0 = Math.ceil(Date.now() / width) * width + width;
    await sleep(t0 - Date.now() + 50);
    // reference, window 0: labelled, 10 % wrong
    const predRef = await inferWithIds(s, ids('r', 60), 3);
    await sleep(t0 + width - Date.now() + 50);
    // window 1: labels arrive later; 45 % wrong
    const pred1 = await inferWithIds(s, ids('w', 60), 4);
    await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', ids('r', 60).map((transaction_id, i) => ({ transaction_id, is_malignant: i % 10 === 0 ? 1 - predRef[i] : predRef[i] })));
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`;
    const created = await call(s, 'POST', '/v1/monitors', {
      name: 'bc-accuracy', ...definition(), window: { width: `${width}ms`, start: t0 }, thresholds: { warning: 0.8, alert: 0.7 },
      coverage: { min: 0.9, max_delay: '1h' }, reference: { start: t0, end: t0 + width }, alert: { webhook: hookUrl },
    });
    assert.equal(created.status, 201, created.body.toString());
    assert.equal(created.json.calibration.reference_rows, 60);

    // window 0 is final at once (fully labelled); window 1 ends, is computed and waits for labels
    const pending = await eventually(async () => {
      const r = (await call(s, 'GET', '/v1/monitors/bc-accuracy/results')).json.results;
      return r.length === 2 && r[1].state === 'pending' && r;
    }, 'window 1 pending', 8000);
    assert.deepEqual([pending[0].state, pending[0].status, pending[0].value], ['final', 'ok', 0.9]);
    assert.equal(pending[1].status, 'pending');
    assert.equal(pending[1].labelled, 0);
    assert.ok(pending[1].estimated.metrics.accuracy.value > 0.5, 'CBPE estimates the unlabelled window');
    assert.ok(pending[1].estimated.metrics.accuracy.lower <= pending[1].estimated.metrics.accuracy.value);

    // the labels come "a week later": the window turns final and its accuracy is in alert
    const labels1 = pred1.map((p, i) => (i % 20 < 9 ? 1 - p : p));
    await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', ids('w', 60).map((transaction_id, i) => ({ transaction_id, is_malignant: labels1[i] })));
    const final = await eventually(async () => {
      const r = (await call(s, 'GET', '/v1/monitors/bc-accuracy/results')).json.results;
      return r.length >= 2 && r[1].state === 'final' && r[1];
    }, 'window 1 final', 8000);
    assert.equal(final.status, 'alert');
    assert.equal(final.value, 33 / 60);
    assert.ok(final.estimated.value !== null, 'estimate and realised side by side');
    const alert = await eventually(async () => received.find((a) => a.window.index === 1), 'the webhook', 8000);
    assert.deepEqual([alert.event, alert.source, alert.value], ['performance.alert', 'realised', 33 / 60]);
    const deliveries = (await call(s, 'GET', '/v1/monitors/bc-accuracy/alerts')).json.alerts;
    assert.ok(deliveries.some((d: { status: string }) => d.status === 'delivered'));
  });
});

describe('bettong feedback / bettong monitor (CLI)', () => {
  let s: TestServer;
  const work = tempDir();
  const bettong = async (...args: string[]) => (await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'bettong.mjs'), '--url', s.url, ...args])).stdout;
  const json = async (...args: string[]) => JSON.parse(await bettong('--json', ...args));
  before(async () => {
    s = await testServer();
    await deployShadowed(s);
  });
  after(() => s.close());

  it('uploads labels from CSV and Parquet, lists the unmatched, previews, saves and deletes a monitor', async () => {
    const predicted = await inferWithIds(s, ids('c', 20), 7);
    const csvFile = path.join(work, 'labels.csv');
    fs.writeFileSync(csvFile, `transaction_id,is_malignant\n${predicted.map((p, i) => `c-${i},${i < 5 ? 1 - p : p}`).join('\n')}\n`);
    const r = await json('feedback', 'upload', 'bc', csvFile, '--key', 'metadata.transaction_id');
    assert.deepEqual([r.received, r.matched, r.unmatched], [20, 20, 0]);
    assert.match(await bettong('feedback', 'upload', 'bc', path.join(ROOT, 'testdata/performance/labels.parquet'), '--key', 'metadata.transaction_id'), /5 label\(s\) for bc \(is_malignant; key metadata.transaction_id\): 0 matched, 5 unmatched/);
    assert.equal((await json('feedback', 'unmatched', 'bc')).count, 5);
    const def = ['--pipeline', 'bc', '--task', 'classification', '--label', 'is_malignant', '--prediction', 'out.label', '--key', 'metadata.transaction_id'];
    const start = String(Date.now() - 3_600_000);
    const p = await json('monitor', 'preview', ...def, '--width', '2h', '--start', start, '--to', String(Date.now() + 3_600_000));
    assert.equal(p.windows[0].value, 0.75);
    assert.match(await bettong('monitor', 'preview', ...def, '--width', '2h', '--start', start, '--to', String(Date.now() + 3_600_000)), /WINDOW\s+START\s+ROWS\s+LABELLED\s+COVERAGE\s+ACCURACY\s+STATE\s+STATUS/);
    const m = await json('monitor', 'create', 'acc', ...def, '--width', '1d', '--alert', '0.8');
    assert.deepEqual(m.definition.thresholds, { warning: null, alert: 0.8, direction: 'below' });
    assert.match(await bettong('monitor', 'list'), /acc\s+bc\s+classification\s+accuracy\s+1d every 1d\s+active/);
    assert.equal((await json('monitor', 'delete', 'acc')).deleted, 'acc');
  });
});
