/** Every inferred row is logged, queryable by time range, paged by cursor, exportable. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call, deployPipeline, eventually, expected, oipRequest, type TestServer, testServer } from './helpers.ts';

describe('inference logs', () => {
  let s: TestServer;
  let t0: number;
  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'digits', ['digits_mlp']);
    t0 = Date.now();
  });
  after(() => s.close());

  it('logs each row with inputs, outputs, versions, latency, request id and metadata', async () => {
    const e = expected('digits_mlp');
    const r = await call(s, 'POST', '/v2/models/digits/infer', oipRequest(e, { id: 'first', parameters: { customer: 'acme' } }));
    assert.equal(r.status, 200);
    const page = await eventually(async () => {
      const p = await s.client.logs('digits');
      return p.records.length === 5 && p;
    }, '5 logged rows');
    const rows = [...page.records].reverse();
    rows.forEach((row, i) => {
      assert.deepEqual(row['in.input'], (e.inputs.input.data as number[]).slice(i * 64, (i + 1) * 64));
      assert.equal(row['out.label'], e.outputs.label.data[i]);
      assert.equal((row['out.probabilities'] as number[]).length, 10);
      assert.equal(row['metadata.pipeline_version'], 1);
      assert.deepEqual((row['metadata.models'] as any[]).map((m) => [m.name, m.version]), [['digits_mlp', 1]]);
      assert.equal(row['metadata.request_id'], 'first');
      assert.equal(row['metadata.customer'], 'acme');
      assert.equal(typeof row['metadata.latency_ms'], 'number');
      assert.ok((row.time as number) >= t0);
    });
  });

  it('reads newest first by default and chronologically over a range', async () => {
    await s.client.inferRecords('digits', [{ input: new Array(64).fill(1) }]);
    await new Promise((r) => setTimeout(r, 5));
    await s.client.inferRecords('digits', [{ input: new Array(64).fill(2) }]);
    await eventually(async () => (await s.client.logs('digits')).records.length === 7, '7 rows');
    const newest = await s.client.logs('digits', { limit: 2 });
    assert.deepEqual(newest.records.map((r) => (r['in.input'] as number[])[0]), [2, 1]);
    const range = await s.client.logs('digits', { start: t0, end: Date.now() + 1000 });
    const times = range.records.map((r) => r.time as number);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.equal((range.records.at(-1)!['in.input'] as number[])[0], 2);
    const none = await s.client.logs('digits', { start: Date.now() + 60_000 });
    assert.equal(none.records.length, 0);
  });

  it('pages through any number of rows with a cursor, without gaps or repeats', async () => {
    const records = Array.from({ length: 250 }, (_, i) => ({ input: new Array(64).fill(0).map((_, j) => (j === 0 ? i : 0)) }));
    await s.client.inferRecords('digits', records);
    await eventually(async () => (await s.client.logs('digits', { limit: 300 })).records.length >= 257, '257 rows');
    for (const range of [{}, { start: t0 }]) {
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await s.client.logs('digits', { ...range, limit: 100, cursor });
        seen.push(...page.records.map((r) => r.time as number));
        cursor = page.next_cursor ?? undefined;
        pages++;
      } while (cursor);
      assert.equal(seen.length, 257);
      assert.equal(pages, 3);
    }
    const all = [];
    for await (const r of s.client.iterateLogs('digits', { start: t0, pageSize: 64 })) all.push(r);
    assert.equal(all.length, 257);
  });

  it('exports everything as JSON Lines', async () => {
    const stream = await s.client.exportLogs('digits');
    const text = await new Response(stream).text();
    const lines = text.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 257);
    assert.ok(lines.every((l) => 'out.label' in l && 'time' in l));
  });

  it('refuses bad queries clearly', async () => {
    let r = await call(s, 'GET', '/v1/pipelines/digits/logs?limit=0');
    assert.equal(r.status, 400);
    r = await call(s, 'GET', '/v1/pipelines/digits/logs?start=yesterday-ish');
    assert.equal(r.status, 400);
    assert.match(r.json.error, /start/);
    r = await call(s, 'GET', '/v1/pipelines/digits/logs?cursor=zzz');
    assert.equal(r.json.code, 'INVALID_REQUEST');
    r = await call(s, 'GET', '/v1/pipelines/nope/logs');
    assert.equal(r.status, 404);
  });

  it('export refuses a bad time as a JSON error, not as an empty JSON Lines stream', async () => {
    const r = await call(s, 'GET', '/v1/pipelines/digits/logs/export?end=not-a-time');
    assert.equal(r.status, 400);
    assert.match(String(r.headers.get('content-type')), /^application\/json/);
    assert.equal(r.json.code, 'INVALID_REQUEST');
    assert.match(r.json.error, /end/);
  });
});

describe('inference logs on shutdown', () => {
  it('flushes rows still in memory when the server closes', async () => {
    const first = await testServer({ logs: { flushIntervalMs: 60_000 } });
    await deployPipeline(first, 'digits', ['digits_mlp']);
    const e = expected('digits_mlp');
    for (let i = 0; i < 3; i++) assert.equal((await call(first, 'POST', '/v2/models/digits/infer', oipRequest(e))).status, 200);
    await first.close();
    const second = await testServer({ dataDir: first.dataDir });
    try {
      assert.equal((await second.client.logs('digits', { limit: 100 })).records.length, 15);
    } finally {
      await second.close();
    }
  });
});
