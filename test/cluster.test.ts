/**
 * Many servers, one platform (issue 14), on SQLite: two real servers over one data directory
 * stand for N servers on one database. A deploy, swap or undeploy made through one runs on the
 * other; a token revoked through one is refused by the other; an assay's windows run once
 * between them, also when the server that leased them died; an alert is delivered once.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Leases } from '../src/cluster/leases.ts';
import { BettongClient } from '../src/sdk/index.ts';
import { DEFAULT_WORKSPACE_ID } from '../src/store/index.ts';
import { call, expected, modelBytes, oipRequest, tempDir, type TestServer, testServer } from './helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

const bc = expected('breast_cancer_logreg');
const infer = (s: TestServer) => call(s, 'POST', '/v2/models/bc/infer', oipRequest(bc));

describe('two servers on one database: deployments and tokens', () => {
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    const dataDir = tempDir();
    a = await testServer({ dataDir });
    b = await testServer({ dataDir });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('runs a deploy made through one server on the other, then a swap, then an undeploy made there', async (t) => {
    await a.client.uploadModel('logreg', modelBytes('breast_cancer_logreg'));
    await a.client.uploadModel('logreg_scaled', modelBytes('breast_cancer_logreg_scaled'));
    await a.client.createPipeline('bc', [{ model: 'logreg' }]);
    assert.equal((await infer(b)).status, 409);
    await a.client.deploy('bc');
    const deployed = Date.now();
    // Until server b has loaded it, b says so rather than calling it failed.
    assert.ok(['loading', 'running'].includes((await b.client.deploymentStatus('bc')).status));
    await waitFor(async () => (await infer(b)).status === 200, 'the deployment on server b');
    t.diagnostic(`deploy converged in ${Date.now() - deployed} ms`);

    const swapped = await a.client.swap('bc', { step: 1, model: 'logreg_scaled' });
    await waitFor(() => b.platform.deployments.runningOne(DEFAULT_WORKSPACE_ID, 'bc')?.version.version === swapped.pipeline_version, 'the swap on server b');
    const answer = await infer(b);
    assert.equal(answer.status, 200);
    assert.equal(answer.json.model_version, String(swapped.pipeline_version));

    await b.client.undeploy('bc');
    await waitFor(async () => (await infer(a)).status === 409, 'the undeploy on server a');
    assert.equal(a.platform.deployments.runningOne(DEFAULT_WORKSPACE_ID, 'bc'), undefined);
  });

  it('loads a deployment once on the server that made it, though its own sync sees the change too', async () => {
    await a.client.deploy('bc');
    const first = a.platform.deployments.runningOne(DEFAULT_WORKSPACE_ID, 'bc');
    await waitFor(async () => (await infer(b)).status === 200, 'the deployment on server b');
    await sleep(600); // more than two sync intervals
    assert.equal(a.platform.deployments.runningOne(DEFAULT_WORKSPACE_ID, 'bc'), first, 'the runner was not replaced by a second load');
  });
});

describe('two servers on one database with tokens', () => {
  let a: TestServer;
  let b: TestServer;
  const adminToken = 'btg_cluster_test_admin_secret_0123456789';

  before(async () => {
    const dataDir = tempDir();
    a = await testServer({ dataDir, auth: true, adminToken });
    b = await testServer({ dataDir, auth: true, adminToken });
  });
  after(async () => {
    await a.close();
    await b.close();
  });

  it('refuses a token revoked through one server on the other from the next request', async () => {
    const admin = new BettongClient({ url: a.url, token: adminToken });
    const { secret } = await admin.createToken('reader');
    const whoami = (s: TestServer) => call(s, 'GET', '/v1/whoami', undefined, { authorization: `Bearer ${secret}` });
    assert.equal((await whoami(b)).status, 200);
    await admin.revokeToken('reader');
    assert.equal((await whoami(b)).status, 401);
  });
});

describe('two servers on one database: assays and alerts', () => {
  let a: TestServer;
  let b: TestServer;
  let hook: http.Server;
  let hookUrl: string;
  const posts: any[] = [];
  const options = { assays: { graceMs: 100, leaseMs: 1500, alerts: { minTimeoutMs: 100, retries: 2 }, allowPrivateWebhooks: true } };

  before(async () => {
    hook = http.createServer((req, res) => {
      let text = '';
      req.on('data', (d) => { text += d; });
      req.on('end', () => {
        posts.push(JSON.parse(text));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    const dataDir = tempDir();
    a = await testServer({ dataDir, ...options });
    b = await testServer({ dataDir, ...options });
    await a.client.uploadModel('logreg', modelBytes('breast_cancer_logreg'));
    await a.client.createPipeline('bc', [{ model: 'logreg' }]);
    await a.client.deploy('bc');
    await waitFor(async () => (await infer(b)).status === 200, 'the deployment on server b');
  });
  after(async () => {
    await a.close();
    await b.close();
    await new Promise((r) => hook.close(r));
  });

  const sample = bc.inputs.input.data as number[];
  const records = (scale: number) => Array.from({ length: 5 }, (_, i) => ({ input: sample.slice(i * 30, i * 30 + 30).map((v, j) => (j === 0 ? v * scale : v)) }));

  it('runs each window once between the servers and alerts once', async () => {
    const baseline = records(1).map((r) => r.input[0]);
    await b.client.createAssay('radius', {
      pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values: [...baseline, ...baseline] }, window: { width: '1s' },
      thresholds: { warning: 0.1, alert: 0.2 }, alert: { webhook: `${hookUrl}/hook` },
    });
    // Logged through both servers: one window holds rows from each.
    await a.client.inferRecords('bc', records(3));
    await b.client.inferRecords('bc', records(3));
    const results = await waitFor(async () => {
      const r = await a.client.assayResults('radius');
      return r.length >= 4 && r;
    }, 'four windows');
    assert.deepEqual(results.map((r) => r.window.index), results.map((_, i) => i), 'no window twice, none skipped');
    const alerting = results.filter((r) => r.status === 'alert');
    assert.ok(alerting.length >= 1, `a drifted window alerts (${results.map((r) => r.status)})`);
    assert.equal(alerting.reduce((n, r) => n + r.count, 0), 10, 'the rows logged by both servers are in the window');
    await waitFor(async () => (await a.client.assayAlerts('radius')).every((d) => d.status === 'delivered') && posts.length >= alerting.length, 'the deliveries');
    await sleep(500);
    assert.deepEqual(posts.map((p) => p.result_id).sort(), alerting.map((r) => r.id).sort(), 'each alert posted once');
    assert.equal(a.platform.assayScheduler.runs + b.platform.assayScheduler.runs, (await a.client.assayResults('radius')).length);
  });

  it('runs the windows of a server that died holding their lease on a survivor once the lease runs out', async () => {
    // A dead server's lease: taken, never renewed nor released.
    const dead = new Leases(a.platform.db);
    await b.client.createAssay('dead', {
      pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values: [...records(1), ...records(1.1)].map((r) => r.input[0]) }, window: { width: '1s' },
    });
    const id = (await a.platform.db.selectFrom('assays').select('id').where('name', '=', 'dead').executeTakeFirstOrThrow()).id;
    assert.equal((await dead.claim(`assay:${id}`, 2500)).won, true);
    const leasedUntil = Date.now() + 2500;
    const first = await waitFor(async () => (await b.client.assayResults('dead'))[0], 'the first window', 20_000);
    assert.ok(Date.parse(first.created_at) >= leasedUntil - 50, 'nothing ran while the dead server held the lease');
    const results = await waitFor(async () => {
      const r = await a.client.assayResults('dead');
      return r.length >= 3 && r;
    }, 'three windows');
    assert.deepEqual(results.map((r) => r.window.index), results.map((_, i) => i));
  });

  it('delivers an alert a dead server left pending once, from a survivor, once its lease runs out', async () => {
    const dead = new Leases(a.platform.db);
    const result = (await a.client.assayResults('radius'))[0];
    const assayId = (await a.platform.db.selectFrom('assays').select('id').where('name', '=', 'radius').executeTakeFirstOrThrow()).id;
    const now = Date.now();
    const row = await a.platform.db.insertInto('assay_alerts').values({
      assay_id: assayId, result_id: result.id, url: `${hookUrl}/hook`, payload: JSON.stringify({ orphan: true }), status: 'pending', attempts: 0,
      http_status: null, last_error: null, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    assert.equal((await dead.claim(`alert:${row.id}`, 1000)).won, true);
    await waitFor(async () => (await a.platform.db.selectFrom('assay_alerts').select('status').where('id', '=', row.id).executeTakeFirst())?.status === 'delivered',
      'the orphaned delivery', 20_000);
    await sleep(500);
    assert.equal(posts.filter((p) => p.orphan).length, 1);
  });
});
