/**
 * Assays over HTTP against real servers: logs made by inferring with a real model (breast cancer
 * logistic regression), previews of normal and drifted windows, saved assays run by the scheduler
 * with 1 s windows, alerts to a loopback webhook that fails its first attempt, restart and pause.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { numericHistogram } from '../src/monitoring/binning.ts';
import type { AssayDefinition } from '../src/sdk/index.ts';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, call, deployPipeline, expected, tempDir, type TestServer, testServer } from './helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Deterministic rows of 30 features around the fixture's 5 sample rows; `drift` scales feature 0. */
function rows(n: number, seed: number, drift = 1): { input: number[] }[] {
  let s = seed >>> 0;
  const rand = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const sample = expected('breast_cancer_logreg').inputs.input.data as number[];
  return Array.from({ length: n }, () => {
    const base = Math.floor(rand() * 5) * 30;
    const input = Array.from({ length: 30 }, (_, j) => sample[base + j] * (1 + 0.1 * gauss()) * (j === 0 ? drift : 1));
    return { input };
  });
}

/** The float32 value the model saw and the log kept. */
const f32 = (x: number) => Math.fround(x);

async function deployBc(s: TestServer): Promise<void> {
  await deployPipeline(s, 'bc', ['breast_cancer_logreg']);
}

describe('assay preview', () => {
  let s: TestServer;
  const t: number[] = [];
  const baselineRows = rows(1000, 1);

  before(async () => {
    s = await testServer();
    await deployBc(s);
    for (const batch of [baselineRows, rows(1000, 2), rows(1000, 3, 1.6)]) {
      await s.client.inferRecords('bc', batch);
      await sleep(30);
    }
    const logs = await waitFor(async () => {
      const page = await s.client.logs('bc', { start: 0, limit: 5000 });
      return page.records.length === 3000 && page;
    }, '3000 logged rows');
    t.push(...new Set(logs.records.map((r) => r.time as number)));
    assert.equal(t.length, 3);
  });
  after(() => s.close());

  const definition = (extra: Partial<AssayDefinition> = {}): AssayDefinition & { start?: number; end?: number } => ({
    pipeline: 'bc',
    target: { column: 'in.input', index: 0 },
    baseline: { start: t[0], end: t[0] + 1 },
    window: { start: t[1], width: t[2] - t[1] },
    end: t[2] + (t[2] - t[1]),
    ...extra,
  });

  it('scores an undrifted window ok and a drifted one in alert, with everything a chart needs', async () => {
    const p = await s.client.previewAssay(definition());
    assert.equal(p.target, 'in.input[0]');
    assert.equal(p.baseline.counts.reduce((a, b) => a + b, 0), 1000);
    assert.equal(p.baseline.edges!.length, 6, 'quantile mode, 5 bins by default');
    assert.equal(p.baseline.labels.length, 7, 'plus a left and a right outlier bin');
    assert.deepEqual(p.baseline.counts.slice(1, 6), [200, 200, 200, 200, 200]);
    assert.equal(p.windows.length, 2);
    const [same, drifted] = p.windows;
    assert.deepEqual([same.count, drifted.count], [1000, 1000]);
    assert.equal(same.metric, 'psi');
    assert.equal(same.status, 'ok', `PSI ${same.score}`);
    assert.ok(same.score! < 0.1);
    assert.equal(drifted.status, 'alert', `PSI ${drifted.score}`);
    assert.ok(drifted.score! > 0.25);
    for (const w of p.windows) {
      assert.equal(w.bins.baseline.length, 7);
      assert.equal(w.bins.window.length, 7);
      assert.ok(Math.abs(w.bins.window.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      assert.equal(w.bins.scores!.length, 7);
      assert.deepEqual(w.bins.edges, p.baseline.edges);
      assert.equal(w.parameters.epsilon, 1e-4);
      assert.equal(w.parameters.js_log_base, 2);
      assert.deepEqual(w.parameters.thresholds, { warning: 0.1, alert: 0.25, direction: 'above' });
      assert.ok(Number.isFinite(w.metrics.jensenshannon) && Number.isFinite(w.metrics.sumdiff));
      assert.equal(typeof w.metrics.maxdiff.bin, 'number');
    }
    assert.ok(drifted.bins.window[6] > 0.3, 'drifted values land in the right outlier bin');
  });

  it('counts a window in SQL exactly as binning the logged values does', async () => {
    const p = await s.client.previewAssay(definition());
    const logged = (await s.client.logs('bc', { start: t[2], end: t[2] + 1, limit: 1000 })).records.map((r) => (r['in.input'] as number[])[0]);
    assert.deepEqual(p.windows[1].bins.window_counts, numericHistogram(p.baseline.edges!, Float64Array.from(logged)));
    const base = baselineRows.map((r) => f32(r.input[0]));
    assert.deepEqual(p.baseline.counts, numericHistogram(p.baseline.edges!, Float64Array.from(base)));
    assert.equal(p.baseline.summary.count, 1000);
  });

  it('assays a tensor output element with KS, and the label as a category with chi-square', async () => {
    const ks = await s.client.previewAssay(definition({ target: { column: 'out.probabilities', index: 1 }, metric: 'ks' }));
    assert.equal(ks.windows[1].metrics.ks!.method, 'exact');
    assert.ok(ks.windows[1].pvalue! < 0.05 && ks.windows[1].status === 'alert');
    assert.ok(ks.windows[0].pvalue! > 0.05, `p ${ks.windows[0].pvalue}`);
    assert.equal(ks.windows[1].score, ks.windows[1].metrics.ks!.statistic);
    const chi = await s.client.previewAssay(definition({ target: { column: 'out.label', kind: 'categorical' }, metric: 'chisquare' }));
    assert.equal(chi.baseline.kind, 'categorical');
    assert.deepEqual(chi.baseline.labels.at(0), '(missing)');
    assert.deepEqual(chi.baseline.labels.at(-1), '(unseen)');
    const scored = chi.baseline.counts.filter((n) => n > 0).length;
    assert.equal(chi.windows[1].metrics.chisquare.df, scored - 1, 'bins empty in the baseline ((missing), (unseen)) add no degree of freedom');
    assert.equal(chi.windows[1].metrics.chisquare.bins, scored);
    assert.ok(['ok', 'warning', 'alert'].includes(chi.windows[1].status), `one label in the baseline: df 0, p 1, not no_data (${chi.windows[1].status})`);
    const w = await s.client.previewAssay(definition({ metric: 'wasserstein', thresholds: { alert: 1 } }));
    assert.ok(w.windows[1].metrics.wasserstein! > w.windows[0].metrics.wasserstein!);
  });

  it('takes a static baseline: a list of numbers, or a column of a CSV or JSON file', async () => {
    const values = baselineRows.map((r) => f32(r.input[0]));
    const fromLogs = await s.client.previewAssay(definition());
    const fromList = await s.client.previewAssay(definition({ baseline: { values } }));
    assert.deepEqual(fromList.baseline.edges, fromLogs.baseline.edges);
    assert.deepEqual(fromList.windows.map((w) => w.score), fromLogs.windows.map((w) => w.score));
    assert.equal(fromList.baseline.source, 'values');
    const csv = `id,radius\n${values.map((v, i) => `${i},${v}`).join('\n')}\n`;
    const fromCsv = await s.client.previewAssay(definition({ baseline: { file: { content: csv, column: 'radius' } } }));
    assert.deepEqual(fromCsv.windows.map((w) => w.score), fromLogs.windows.map((w) => w.score));
    const json = JSON.stringify(baselineRows.map((r) => ({ input: r.input.map(f32) })));
    const fromJson = await s.client.previewAssay(definition({ baseline: { file: { content: json, format: 'json', column: 'input', index: 0 } } }));
    assert.deepEqual(fromJson.windows.map((w) => w.score), fromLogs.windows.map((w) => w.score));
  });

  it('keeps NaN: counted, and in the leftmost bin', async () => {
    const values = [...baselineRows.map((r) => f32(r.input[0])), null, null];
    const p = await s.client.previewAssay(definition({ baseline: { values }, binning: { mode: 'equal_width', bins: 4 } }));
    assert.equal(p.baseline.summary.count, 1002);
    assert.equal((p.baseline.summary as { nan_count: number }).nan_count, 2);
    assert.equal(p.baseline.counts[0], 2);
    assert.equal(p.baseline.edges!.length, 5);
  });

  it('refuses bad input with a clear 4xx and a stable code', async () => {
    const bad = async (patch: Record<string, unknown>, status: number, code: string, message: RegExp) => {
      const r = await call(s, 'POST', '/v1/assays/preview', { ...definition(), ...patch });
      assert.equal(r.status, status, JSON.stringify(r.json));
      assert.equal(r.json.code, code, r.json.error);
      assert.match(r.json.error, message);
    };
    await bad({ pipeline: 'nope' }, 404, 'PIPELINE_NOT_FOUND', /nope/);
    await bad({ target: { column: 'out.nothing' } }, 400, 'UNKNOWN_COLUMN', /no column 'out.nothing'.*out.label, out.probabilities/);
    await bad({ target: { column: 'input' } }, 400, 'UNKNOWN_COLUMN', /'in.<input>' or 'out.<output>'/);
    await bad({ target: { column: 'out.probabilities' } }, 400, 'UNKNOWN_COLUMN', /shape \[2\] per row; give 'target.index'/);
    await bad({ target: { column: 'out.probabilities', index: 2 } }, 400, 'UNKNOWN_COLUMN', /index' 2 is out of range/);
    await bad({ window: { width: '1h' } }, 422, 'WINDOW_TOO_WIDE', /window \(1h\) is wider than the data/);
    await bad({ baseline: { values: [1, 2, 3] } }, 422, 'BASELINE_TOO_SMALL', /3 numeric value\(s\); 5 bins need at least 10/);
    await bad({ baseline: { start: 1, end: 2 } }, 422, 'BASELINE_TOO_SMALL', /no inference logs/);
    await bad({ binning: { mode: 'provided', edges: [0, 10, 5] } }, 400, 'INVALID_BIN_EDGES', /strictly increasing/);
    await bad({ thresholds: { warning: 0.5, alert: 0.2 } }, 400, 'INVALID_THRESHOLDS', /warning.*must be below.*alert/);
    await bad({ thresholds: { alert: -1 } }, 400, 'INVALID_THRESHOLDS', /≥ 0/);
    await bad({ metric: 'ks', thresholds: { alert: 2 } }, 400, 'INVALID_THRESHOLDS', /p-value level/);
    await bad({ metric: 'wasserstein' }, 400, 'INVALID_THRESHOLDS', /no default thresholds/);
    await bad({ window: { width: 'soon' } }, 400, 'INVALID_ASSAY', /window.width/);
    await bad({ metric: 'kl' }, 400, 'INVALID_REQUEST', /metric/);
    await bad({ baseline: { file: { content: 'a,b\n1,2\n', column: 'c' } } }, 400, 'UNKNOWN_COLUMN', /no column 'c'; its columns: a, b/);
    // the server keeps serving
    assert.equal((await s.client.previewAssay(definition())).windows.length, 2);
  });
});

describe('saved assays: scheduled, alerting, paused, restarted', () => {
  let s: TestServer;
  let hook: http.Server;
  let hookUrl: string;
  const received: { path: string; body: any; answered: number }[] = [];
  // The webhook receiver is on this machine: a local setup, which needs the allowance.
  const options = { assays: { graceMs: 150, alerts: { minTimeoutMs: 100, retries: 2 }, allowPrivateWebhooks: true } };

  before(async () => {
    // The webhook fails the first delivery to /ok (to prove retries) and every one to /down.
    hook = http.createServer((req, res) => {
      let text = '';
      req.on('data', (d) => { text += d; });
      req.on('end', () => {
        const path = req.url ?? '';
        const answered = path === '/down' || received.filter((r) => r.path === path).length === 0 ? 500 : 204;
        received.push({ path, body: JSON.parse(text), answered });
        res.writeHead(answered).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}`;
    s = await testServer(options);
    await deployBc(s);
  });
  after(async () => {
    await s.close();
    await new Promise((r) => hook.close(r));
  });

  const values = rows(300, 7).map((r) => f32(r.input[0]));

  it('runs each complete window once by itself, stores the result and alerts the webhook with retries', async () => {
    const a = await s.client.createAssay('radius', {
      pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values }, window: { width: '1s' },
      alert: { webhook: `${hookUrl}/ok` },
    });
    assert.equal(a.state, 'active');
    assert.equal(a.next_window.index, 0);
    assert.equal(a.window.width, '1s');
    assert.equal(a.baseline.counts.reduce((x, y) => x + y, 0), 300);
    await s.client.inferRecords('bc', rows(200, 8, 1.6));
    const first = await waitFor(async () => (await s.client.assayResults('radius'))[0], 'the first window');
    assert.equal(first.window.index, 0);
    assert.equal(first.count, 200);
    assert.equal(first.status, 'alert');
    const delivered = await waitFor(async () => (await s.client.assayAlerts('radius')).find((d) => d.status === 'delivered'), 'a delivered alert');
    assert.equal(delivered.attempts, 2, 'first attempt got a 500, the retry a 204');
    assert.equal(delivered.http_status, 204);
    assert.equal(delivered.result_id, first.id);
    const posts = received.filter((r) => r.path === '/ok');
    assert.deepEqual(posts.map((p) => p.answered), [500, 204]);
    assert.equal(posts[1].body.event, 'assay.alert');
    assert.equal(posts[1].body.assay, 'radius');
    assert.equal(posts[1].body.target, 'in.input[0]');
    assert.equal(posts[1].body.window.start_ms, first.window.start);
    assert.ok(posts[1].body.score > 0.25);
    // empty windows follow: stored as no_data, none twice, none skipped
    const later = await waitFor(async () => {
      const r = await s.client.assayResults('radius');
      return r.length >= 3 && r;
    }, 'three windows');
    assert.deepEqual(later.map((r) => r.window.index), later.map((_, i) => i));
    assert.equal(later[1].status, 'no_data');
    assert.equal(later[1].score, null);
    assert.equal((await s.client.assayAlerts('radius')).length, 1, 'no_data windows raise no alert');
  });

  it('records a webhook that keeps failing as failed, with the attempts and the last status', async () => {
    await s.client.createAssay('down', {
      pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values }, window: { width: '1s' },
      alert: { webhook: `${hookUrl}/down` },
    });
    await s.client.inferRecords('bc', rows(100, 9, 1.6));
    const failed = await waitFor(async () => (await s.client.assayAlerts('down')).find((d) => d.status === 'failed'), 'a failed delivery');
    assert.equal(failed.attempts, 3, 'one attempt and 2 retries');
    assert.equal(failed.http_status, 500);
    assert.match(failed.last_error!, /HTTP 500/);
    await s.client.deleteAssay('down');
  });

  it('runs a KS assay from the stored baseline sample', async () => {
    await s.client.createAssay('ks', {
      pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values: [...values, null] }, window: { width: '1s' }, metric: 'ks',
    });
    await s.client.inferRecords('bc', rows(150, 10, 1.6));
    const r = await waitFor(async () => (await s.client.assayResults('ks')).find((x) => x.count > 0), 'a KS window with rows');
    assert.equal(r.metrics.ks!.method, 'exact');
    assert.ok(r.pvalue! < 0.05 && r.status === 'alert', `p ${r.pvalue}`);
    assert.equal(r.score, r.metrics.ks!.statistic);
    await s.client.deleteAssay('ks');
  });

  it('pauses and resumes: nothing runs while paused, and resuming skips the paused windows', async () => {
    const paused = await s.client.pauseAssay('radius');
    assert.equal(paused.state, 'paused');
    const before = (await s.client.assayResults('radius')).length;
    await sleep(1300);
    assert.equal((await s.client.assayResults('radius')).length, before);
    const resumed = await s.client.resumeAssay('radius');
    assert.equal(resumed.state, 'active');
    assert.ok(resumed.next_window.end > Date.now(), 'picks up with the first window ending after now');
    const after = await waitFor(async () => {
      const r = await s.client.assayResults('radius');
      return r.length > before && r;
    }, 'a window after resuming');
    const idx = after.map((r) => r.window.index);
    assert.equal(new Set(idx).size, idx.length);
    assert.ok(idx.at(-1)! > idx[before - 1] + 1, 'the paused windows were skipped');
  });

  it('resumes after a restart where it left off, catching up windows that ended while down, none twice', async () => {
    const before = await s.client.assayResults('radius');
    await s.close();
    await sleep(1500);
    s = await testServer({ ...options, dataDir: s.dataDir });
    const after = await waitFor(async () => {
      const r = await s.client.assayResults('radius');
      return r.length >= before.length + 2 && r;
    }, 'caught-up windows');
    const idx = after.map((r) => r.window.index);
    assert.equal(new Set(idx).size, idx.length, 'no window twice');
    const resumedAt = idx.indexOf(before.at(-1)!.window.index);
    assert.deepEqual(idx.slice(resumedAt), idx.slice(resumedAt).map((_, i) => idx[resumedAt] + i), 'no window skipped across the restart');
  });

  it('lists, shows, filters results by time, refuses duplicates and unknown names, deletes', async () => {
    const list = await s.client.listAssays();
    assert.deepEqual(list.map((a) => a.name), ['radius']);
    const a = await s.client.getAssay('radius');
    assert.ok(a.last_result);
    const all = await s.client.assayResults('radius');
    const some = await s.client.assayResults('radius', { start: all[1].window.start, end: all[2].window.start + 1 });
    assert.deepEqual(some.map((r) => r.window.index), [all[1].window.index, all[2].window.index]);
    let r = await call(s, 'POST', '/v1/assays', { name: 'radius', pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values }, window: { width: '1s' } });
    assert.equal(r.status, 409);
    assert.equal(r.json.code, 'ASSAY_EXISTS');
    r = await call(s, 'GET', '/v1/assays/nope/results');
    assert.equal(r.status, 404);
    assert.equal(r.json.code, 'ASSAY_NOT_FOUND');
    r = await call(s, 'POST', '/v1/assays', { name: 'x', pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values }, window: { width: '1s' }, alert: { webhook: 'ftp://x' } });
    assert.equal(r.json.code, 'INVALID_ASSAY');
    const spec = (await call(s, 'GET', '/openapi.json')).json;
    assert.ok(spec.paths['/v1/assays/preview'] && spec.paths['/v1/assays/{name}/results']);
    await s.client.deleteAssay('radius');
    assert.deepEqual(await s.client.listAssays(), []);
  });
});

describe('webhook targets: private, loopback and link-local addresses are refused by default', () => {
  const values = rows(300, 7).map((r) => f32(r.input[0]));
  const assay = (name: string, webhook: string) => ({
    name, pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values }, window: { width: '1s' }, alert: { webhook },
  });

  it('refuses literal non-public addresses and localhost at create time with 422 WEBHOOK_NOT_ALLOWED', async () => {
    const s = await testServer();
    try {
      await deployBc(s);
      const refused = [
        'http://169.254.169.254/latest/meta-data/', 'http://127.0.0.1:9/', 'http://127.8.9.10/', 'http://10.1.2.3/', 'http://172.16.0.1/',
        'http://172.31.255.255/', 'http://192.168.1.1/', 'http://100.64.0.1/', 'http://0.0.0.0/', 'https://[::1]/', 'http://[::]/',
        'http://[fc00::1]/', 'http://[fd12:3456::1]/', 'http://[fe80::1]/', 'http://[::ffff:127.0.0.1]/', 'http://[::ffff:a9fe:a9fe]/',
        'http://localhost:8080/hook', 'http://api.localhost/', 'http://2130706433/', 'http://0x7f.1/', 'http://224.0.0.1/',
      ];
      for (const webhook of refused) {
        const r = await call(s, 'POST', '/v1/assays', assay('x', webhook));
        assert.equal(r.status, 422, `${webhook}: ${r.body}`);
        assert.equal(r.json.code, 'WEBHOOK_NOT_ALLOWED');
        assert.match(r.json.error, /'alert\.webhook' is refused: .* --allow-private-webhooks/);
      }
      assert.match((await call(s, 'POST', '/v1/assays', assay('x', 'http://169.254.169.254/'))).json.error, /169\.254\.169\.254 is a linkLocal address/);
      // Public addresses and names are accepted (names are checked when a delivery resolves them).
      for (const [i, webhook] of ['http://93.184.216.34/hook', 'https://hooks.example.com/bettong', 'http://[2606:4700::1111]/'].entries()) {
        assert.equal((await call(s, 'POST', '/v1/assays', assay(`ok${i}`, webhook))).status, 201, webhook);
        await s.client.deleteAssay(`ok${i}`);
      }
    } finally {
      await s.close();
    }
  });

  it('refuses delivery to a private address as a failed delivery with the reason, without connecting', async () => {
    let hits = 0;
    const hook = http.createServer((_req, res) => { hits++; res.writeHead(204).end(); });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    // Saved while the allowance was on; the server then restarts without it.
    let s = await testServer({ assays: { graceMs: 150, allowPrivateWebhooks: true } });
    try {
      await deployBc(s);
      await s.client.createAssay('local', assay('local', webhook));
      await s.close();
      s = await testServer({ dataDir: s.dataDir, assays: { graceMs: 150, alerts: { minTimeoutMs: 100, retries: 2 } } });
      await s.client.inferRecords('bc', rows(200, 8, 1.6));
      const failed = await waitFor(async () => (await s.client.assayAlerts('local')).find((d) => d.status === 'failed'), 'a refused delivery');
      assert.equal(failed.attempts, 1, 'a refused target is not retried');
      assert.equal(failed.http_status, null);
      assert.match(failed.last_error!, /webhook target refused: 127\.0\.0\.1 is a loopback address; .*--allow-private-webhooks/);
      assert.equal(hits, 0);
    } finally {
      await s.close();
      await new Promise((r) => hook.close(r));
    }
  });
});

describe('bettong assay (CLI)', () => {
  let s: TestServer;
  const exec = promisify(execFile);
  const bettong = async (...args: string[]) => (await exec(process.execPath, [path.join(ROOT, 'bin', 'bettong.mjs'), '--url', s.url, ...args])).stdout;
  const json = async (...args: string[]) => JSON.parse(await bettong('--json', ...args));
  let t: number[] = [];
  const work = tempDir();

  before(async () => {
    s = await testServer();
    await deployBc(s);
    for (const batch of [rows(500, 11), rows(500, 12, 1.6)]) {
      await s.client.inferRecords('bc', batch);
      await sleep(30);
    }
    const logs = await waitFor(async () => {
      const page = await s.client.logs('bc', { start: 0, limit: 2000 });
      return page.records.length === 1000 && page;
    }, '1000 logged rows');
    t = [...new Set(logs.records.map((r) => r.time as number))];
  });
  after(() => s.close());

  it('previews from a CSV baseline, saves, lists, shows results, pauses, resumes and deletes', async () => {
    const csv = path.join(work, 'baseline.csv');
    fs.writeFileSync(csv, `radius\n${rows(500, 13).map((r) => f32(r.input[0])).join('\n')}\n`);
    const def = ['--pipeline', 'bc', '--column', 'in.input', '--index', '0', '--baseline-file', csv, '--baseline-column', 'radius'];
    const width = String(t[1] - t[0]);
    const p = await json('assay', 'preview', ...def, '--width', width, '--start', String(t[0]), '--to', String(t[1] + Number(width)));
    assert.deepEqual(p.windows.map((w: any) => w.status), ['ok', 'alert']);
    const human = await bettong('assay', 'preview', ...def, '--width', width, '--start', String(t[0]), '--to', String(t[1] + Number(width)));
    assert.match(human, /WINDOW\s+START\s+END\s+ROWS\s+PSI\s+STATUS/);
    assert.match(human, /alert/);
    const a = await json('assay', 'create', 'radius', ...def, '--width', '1s', '--metric', 'sumdiff', '--warning', '0.05', '--alert', '0.3');
    assert.equal(a.metric, 'sumdiff');
    assert.deepEqual(a.definition.thresholds, { warning: 0.05, alert: 0.3, direction: 'above' });
    assert.match(await bettong('assay', 'list'), /radius\s+bc\s+in\.input\[0\]\s+sumdiff\s+1s every 1s\s+active/);
    await waitFor(async () => (await json('assay', 'results', 'radius')).length >= 1, 'a scheduled result');
    assert.equal((await json('assay', 'pause', 'radius')).state, 'paused');
    assert.match(await bettong('assay', 'resume', 'radius'), /assay radius is active; next window ends/);
    assert.match(await bettong('assay', 'show', 'radius'), /thresholds: \{"warning":0.05,"alert":0.3/);
    assert.equal((await json('assay', 'delete', 'radius')).deleted, 'radius');
  });

  it('fails with the server\'s code and a non-zero exit', async () => {
    await assert.rejects(bettong('assay', 'preview', '--pipeline', 'bc', '--column', 'out.nope', '--baseline-values', '1,2', '--width', '1s'),
      (e: any) => e.code === 1 && /UNKNOWN_COLUMN/.test(e.stderr));
    await assert.rejects(bettong('assay', 'results', 'nope'), (e: any) => e.code === 1 && /ASSAY_NOT_FOUND/.test(e.stderr));
  });
});
