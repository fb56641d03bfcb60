/**
 * Durations and times across the API: huge, negative, NaN-ish and non-ISO values are a 400 with
 * a stable code naming the field, nothing invalid is stored, and a bad stored row breaks no list.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SQLITE_ONLY, type TestServer, call, modelBytes, testServer } from './helpers.ts';

const HUGE = '1426288704421741723648';

describe('durations and times over HTTP', () => {
  let s: TestServer;
  before(async () => {
    s = await testServer();
    await s.client.uploadModel('digits_mlp', modelBytes('digits_mlp'));
    await s.client.createPipeline('digits', [{ model: 'digits_mlp' }]);
  });
  after(() => s.close());

  const refused = async (method: string, route: string, body: unknown, code: string, field: string) => {
    const r = await call(s, method, route, body);
    assert.equal(r.status, 400, `${method} ${route} ${JSON.stringify(body)}: ${r.body}`);
    assert.equal(r.json.code, code, r.body.toString());
    // Named by the schema ("body/expires_in must be ...") or by the time parser ("'expires_in' must be ...").
    assert.match(r.json.error, new RegExp(`['/]${field.replace('.', '\\.')}\\b`), r.body.toString());
  };

  it('refuses a huge expires_in or expires_at with 400, and token listing and creation keep working (issue 10.4)', async () => {
    // The request of the issue: the number as JSON, not a string.
    const raw = await fetch(`${s.url}/v1/tokens`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"name":"t1","expires_in":${HUGE}}`,
    });
    const body = await raw.json() as { code: string; error: string };
    assert.equal(raw.status, 400, JSON.stringify(body));
    assert.equal(body.code, 'INVALID_REQUEST');
    assert.match(body.error, /['/]expires_in\b/);
    for (const [field, v] of [['expires_in', HUGE], ['expires_in', '-5s'], ['expires_in', 'NaN'], ['expires_in', '1y'], ['expires_in', 0],
      ['expires_at', Number(HUGE)], ['expires_at', HUGE], ['expires_at', '+275760-09-13T00:00:00.000Z'], ['expires_at', 'March 7 2099'],
      ['expires_at', '2099-02-30'], ['expires_at', -1]] as const) {
      await refused('POST', '/v1/tokens', { name: 't2', [field]: v }, 'INVALID_REQUEST', field);
    }
    const list = await call(s, 'GET', '/v1/tokens');
    assert.equal(list.status, 200, list.body.toString());
    assert.ok(!list.json.tokens.some((t: { name: string }) => t.name.startsWith('t')), list.body.toString());
    const ok = await call(s, 'POST', '/v1/tokens', { name: 't1', expires_in: '30d' });
    assert.equal(ok.status, 201, ok.body.toString());
    assert.ok(Date.parse(ok.json.token.expires_at) > Date.now());
  });

  // Such rows exist only in SQLite files: PostgreSQL's bigint cannot hold the value the old bug stored.
  it('lists tokens even when a stored row holds a time no Date can format', { skip: SQLITE_ONLY }, async () => {
    // A row as the bug above stored it, before this fix.
    await s.platform.db.updateTable('tokens').set({ expires_at: 1.4e21 }).where('name', '=', 't1').execute();
    const list = await call(s, 'GET', '/v1/tokens');
    assert.equal(list.status, 200, list.body.toString());
    assert.ok(list.json.tokens.some((t: { name: string; expires_at: unknown }) => t.name === 't1' && t.expires_at === null), list.body.toString());
    const another = await call(s, 'POST', '/v1/tokens', { name: 't3' });
    assert.equal(another.status, 201, another.body.toString());
  });

  it('refuses bad assay windows and baselines with INVALID_ASSAY naming the field', async () => {
    const def = (window: Record<string, unknown>, baseline: Record<string, unknown> = { values: Array.from({ length: 20 }, (_, i) => i) }) =>
      ({ pipeline: 'digits', target: { column: 'in.input', index: 0 }, baseline, window });
    for (const [field, window] of [
      ['window.width', { width: HUGE }], ['window.width', { width: Number(HUGE) }], ['window.width', { width: '-1h' }], ['window.width', { width: 'NaN' }],
      ['window.interval', { width: '1h', interval: '0s' }], ['window.interval', { width: '1h', interval: '1e400' }],
      ['window.start', { width: '1h', start: 'last tuesday' }], ['window.start', { width: '1h', start: Number(HUGE) }], ['window.start', { width: '1h', start: -5 }],
    ] as const) {
      await refused('POST', '/v1/assays/preview', def(window), 'INVALID_ASSAY', field);
      await refused('POST', '/v1/assays', { name: 'a1', ...def(window) }, 'INVALID_ASSAY', field);
    }
    await refused('POST', '/v1/assays/preview', def({ width: '1h' }, { start: '2024-01-01', end: HUGE }), 'INVALID_ASSAY', 'baseline.end');
    await refused('POST', '/v1/assays/preview', { ...def({ width: '1h' }), start: 'yesterday' }, 'INVALID_ASSAY', 'start');
    await refused('POST', '/v1/assays/preview', { ...def({ width: '1h' }), end: Number(HUGE) }, 'INVALID_ASSAY', 'end');
    await refused('GET', '/v1/assays/none/results?start=abc', undefined, 'INVALID_REQUEST', 'start');
  });

  it('refuses bad start/end on logs, export, compare and audit with INVALID_REQUEST naming the field', async () => {
    for (const route of ['/v1/pipelines/digits/logs', '/v1/pipelines/digits/logs/export', '/v1/pipelines/digits/compare', '/v1/audit']) {
      await refused('GET', `${route}?start=${HUGE}`, undefined, 'INVALID_REQUEST', 'start');
      await refused('GET', `${route}?start=-1`, undefined, 'INVALID_REQUEST', 'start');
      await refused('GET', `${route}?end=NaN`, undefined, 'INVALID_REQUEST', 'end');
      await refused('GET', `${route}?end=${encodeURIComponent('Tue Mar 05 2024')}`, undefined, 'INVALID_REQUEST', 'end');
      const ok = await call(s, 'GET', `${route}?start=2024-01-01T00:00:00Z&end=${Date.now()}`);
      assert.equal(ok.status, 200, `${route}: ${ok.body}`);
    }
  });
});
