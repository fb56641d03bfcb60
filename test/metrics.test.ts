/**
 * Metrics: a real Prometheus (the Debian package, started here on a loopback port) scrapes the
 * server and its query API returns what the test sent; the JSON traffic summary; who may scrape.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { BettongClient } from '../src/sdk/index.ts';
import { type TestServer, call, deployPipeline, eventually, expected, oipRequest, tempDir, testServer } from './helpers.ts';

const freePort = () => new Promise<number>((resolve, reject) => {
  const srv = net.createServer();
  srv.once('error', reject);
  srv.listen(0, '127.0.0.1', () => {
    const { port } = srv.address() as net.AddressInfo;
    srv.close(() => resolve(port));
  });
});

/** Starts Prometheus scraping `target` (host:port) every second; fails when it is not installed. */
async function startPrometheus(target: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = tempDir();
  const config = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(config, [
    'global:', '  scrape_interval: 1s', '  evaluation_interval: 1s',
    'scrape_configs:', '  - job_name: bettong', '    metrics_path: /metrics', '    static_configs:', `      - targets: ['${target}']`, '',
  ].join('\n'));
  const port = await freePort();
  const proc: ChildProcess = spawn('prometheus', [
    `--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => { stderr = (stderr + d).slice(-4000); });
  const spawned = new Promise<void>((resolve, reject) => {
    proc.once('spawn', resolve);
    proc.once('error', (e) => reject(new Error(`cannot start prometheus (install the Debian package 'prometheus'): ${e.message}`)));
  });
  await spawned;
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok, `prometheus ready (${stderr})`, 20_000);
  return {
    url,
    async stop() {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** One instant query's single value, or undefined while there is none yet. */
async function queryValue(prom: string, q: string): Promise<number | undefined> {
  const res = await fetch(`${prom}/api/v1/query?query=${encodeURIComponent(q)}`);
  const body = await res.json() as { status: string; data: { result: { value: [number, string] }[] } };
  assert.equal(body.status, 'success', q);
  return body.data.result.length ? Number(body.data.result[0].value[1]) : undefined;
}

const addRows = (n: number) => Array.from({ length: n }, (_, i) => ({ a: [i, 1, 2], b: [3, 4, 5] }));

describe('Prometheus metrics', () => {
  const servers: TestServer[] = [];
  after(async () => { for (const s of servers) await s.close(); });

  test('a real Prometheus scrapes /metrics; its queries return the requests and rows sent and a latency histogram of them', async () => {
    const s = await testServer();
    servers.push(s);
    await deployPipeline(s, 'add', ['add_mul']);
    const e = expected('add_mul');
    // 6 records requests of 3 rows, 4 OIP requests of 2 rows, 1 refused request.
    for (let i = 0; i < 6; i++) assert.equal((await call(s, 'POST', '/v1/pipelines/add/infer', addRows(3))).status, 200);
    for (let i = 0; i < 4; i++) assert.equal((await call(s, 'POST', '/v2/models/add/infer', oipRequest(e))).status, 200);
    const bad = await call(s, 'POST', '/v1/pipelines/add/infer', [{ a: [1, 2, 3] }]);
    assert.equal(bad.status, 400);
    // A pipeline that does not exist is counted, but its name never becomes a label.
    assert.equal((await call(s, 'POST', '/v1/pipelines/no-such-pipeline/infer', addRows(1))).status, 404);

    const prom = await startPrometheus(`127.0.0.1:${s.port}`);
    try {
      const ok = await eventually(() => queryValue(prom.url, 'sum(bettong_inference_requests_total{pipeline="add",outcome="success"})'), 'a scrape', 20_000);
      assert.equal(ok, 10);
      assert.equal(await queryValue(prom.url, `sum(bettong_inference_requests_total{pipeline="add",outcome="failure",code="${bad.json.code}"})`), 1);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_requests_total{protocol="rest",pipeline="add"})'), 11);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_requests_total{protocol="rest",pipeline=""})'), 1);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_rows_total{pipeline="add"})'), 6 * 3 + 4 * 2);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_request_duration_seconds_count{pipeline="add"})'), 11);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_request_duration_seconds_bucket{pipeline="add",le="+Inf"})'), 11);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_compute_duration_seconds_count{pipeline="add"})'), 10);
      assert.equal(await queryValue(prom.url, 'sum(bettong_inference_step_duration_seconds_count{pipeline="add",step="1",model="add_mul"})'), 10);
      const p50 = await queryValue(prom.url, 'histogram_quantile(0.5, sum by (le) (bettong_inference_request_duration_seconds_bucket{pipeline="add"}))');
      assert.ok(p50 !== undefined && p50 > 0 && p50 < 10, `p50 ${p50}`);
      assert.ok((await queryValue(prom.url, 'sum(bettong_inference_log_rows_written_total)'))! >= 0);
      assert.ok((await queryValue(prom.url, 'nodejs_heap_size_used_bytes'))! > 0, 'process metrics');
      assert.ok((await queryValue(prom.url, 'nodejs_eventloop_lag_seconds')) !== undefined, 'event-loop lag');
    } finally {
      await prom.stop();
    }
  });

  test('batching, replicas, validations and the log writer show in the exposition', async () => {
    const s = await testServer();
    servers.push(s);
    await s.client.uploadModel('add_mul', fs.readFileSync(path.join('testdata', 'models', 'add_mul.onnx')));
    await s.client.createPipeline('add', [{ model: 'add_mul' }], { validations: { small_sum: 'out.sum[0] < 100' } });
    await s.client.deploy('add', { replicas: 2, max_batch_size: 8, max_delay_ms: 20 });
    await Promise.all(Array.from({ length: 4 }, () => call(s, 'POST', '/v1/pipelines/add/infer', [{ a: [200, 1, 2], b: [1, 1, 1] }, { a: [1, 1, 1], b: [1, 1, 1] }])));
    await s.platform.logs.flush();
    const text = (await call(s, 'GET', '/metrics')).body.toString();
    const value = (line: string) => {
      const m = text.split('\n').find((l) => l.startsWith(line + ' '));
      return m === undefined ? undefined : Number(m.slice(line.length + 1));
    };
    assert.equal(value('bettong_validation_failures_total{workspace_id="1",pipeline="add",rule="small_sum"}'), 4);
    assert.equal(value('bettong_inference_batch_size_rows_sum{workspace_id="1",pipeline="add"}'), 8, text);
    assert.ok(value('bettong_inference_queue_duration_seconds_count{workspace_id="1",pipeline="add"}') === 4);
    assert.equal(value('bettong_inference_in_flight{workspace_id="1",pipeline="add",replica="1"}'), 0);
    assert.equal(value('bettong_inference_queue_depth{workspace_id="1",pipeline="add"}'), 0);
    assert.equal(value('bettong_inference_log_rows_written_total'), 8);
    assert.equal(value('bettong_inference_log_backlog_rows'), 0);
    assert.ok(value('bettong_inference_log_flush_duration_seconds_count')! >= 1);
  });

  test('the JSON summary gives requests per second, error rate and latency percentiles; the CLI status shows it', async () => {
    const s = await testServer();
    servers.push(s);
    await deployPipeline(s, 'add', ['add_mul']);
    for (let i = 0; i < 5; i++) await call(s, 'POST', '/v1/pipelines/add/infer', addRows(1));
    await call(s, 'POST', '/v1/pipelines/add/infer', [{ a: [1, 2, 3] }]);
    const r = await call(s, 'GET', '/v1/pipelines/add/metrics?window=60');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.requests, 6);
    assert.equal(r.json.errors, 1);
    assert.equal(r.json.window_s, 60);
    assert.equal(r.json.requests_per_s, 0.1);
    assert.equal(r.json.error_rate, 0.167);
    assert.ok(r.json.latency_ms.p50 > 0 && r.json.latency_ms.p50 <= r.json.latency_ms.p95 && r.json.latency_ms.p95 <= r.json.latency_ms.p99);
    assert.equal(r.json.latency_ms.samples, 6);
    assert.equal((await call(s, 'GET', '/v1/pipelines/nope/metrics')).json.code, 'PIPELINE_NOT_FOUND');
    assert.equal((await call(s, 'GET', '/v1/pipelines/add/metrics?window=0')).status, 400);
  });

  test('the time series gives requests, errors, rows and latency per step over 15 min / 1 h / 24 h, and in-flight per replica', async () => {
    const s = await testServer();
    servers.push(s);
    await deployPipeline(s, 'add', ['add_mul']);
    for (let i = 0; i < 5; i++) await call(s, 'POST', '/v1/pipelines/add/infer', addRows(2));
    await call(s, 'POST', '/v1/pipelines/add/infer', [{ a: [1, 2, 3] }]);
    const r = await call(s, 'GET', '/v1/pipelines/add/metrics/series?range=1h');
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal(r.json.step_s, 10);
    assert.equal(r.json.points.length, 360);
    const sum = (k: string) => Math.round(r.json.points.reduce((n: number, p: any) => n + p[k] * r.json.step_s, 0));
    assert.equal(sum('requests_per_s'), 6);
    assert.equal(sum('rows_per_s'), 10);
    assert.ok(r.json.points.some((p: any) => p.error_rate > 0 && p.p50_ms > 0));
    assert.deepEqual(r.json.in_flight, [0]);
    assert.equal((await call(s, 'GET', '/v1/pipelines/add/metrics/series')).json.points.length, 90);
    assert.equal((await call(s, 'GET', '/v1/pipelines/add/metrics/series?range=24h')).json.step_s, 60);
    assert.equal((await call(s, 'GET', '/v1/pipelines/add/metrics/series?range=2d')).status, 400);
    assert.equal((await call(s, 'GET', '/v1/pipelines/nope/metrics/series')).json.code, 'PIPELINE_NOT_FOUND');
  });

  test('with --auth, /metrics needs a platform admin token, or the loopback --metrics-port', async () => {
    const ADMIN = 'metrics-admin-token-0123456789';
    const s = await testServer({ auth: true, adminToken: ADMIN, metricsPort: 0 });
    servers.push(s);
    assert.equal((await call(s, 'GET', '/metrics')).status, 401);
    const admin = new BettongClient({ url: s.url, token: ADMIN });
    await admin.createUser('viewer');
    await admin.addMember('viewer', 'owner');
    const { secret } = await admin.createToken('v', { user: 'viewer' });
    const denied = await call(s, 'GET', '/metrics', undefined, { authorization: `Bearer ${secret}` });
    assert.equal(denied.status, 403);
    assert.equal(denied.json.code, 'PERMISSION_DENIED');
    const ok = await call(s, 'GET', '/metrics', undefined, { authorization: `Bearer ${ADMIN}` });
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
    assert.match(ok.body.toString(), /# TYPE bettong_inference_requests_total counter/);
    assert.ok(s.metricsUrl?.startsWith('http://127.0.0.1:'));
    const open = await fetch(s.metricsUrl!);
    assert.equal(open.status, 200);
    assert.match(await open.text(), /bettong_inference_log_backlog_rows/);
  });
});
