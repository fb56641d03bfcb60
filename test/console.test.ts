/**
 * The web console in a real browser (playwright-core driving Debian's chromium) against a real
 * server with real models: a person's journey through every page, axe-core on each page (no
 * serious or critical violation), and a viewer who cannot deploy. Screenshots of every page go
 * to test-output/console/.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';
import { MODELS, ROOT, call, deployPipeline, eventually, expected, type TestServer, testServer } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = path.join(ROOT, 'test-output', 'console');
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const ADMIN = 'console-admin-token-0123456789abcdef';

const cancer = expected('breast_cancer_logreg');
const rows = (cancer.inputs.input.data as number[]).reduce<{ input: number[] }[]>((acc, x, i) => {
  if (i % 30 === 0) acc.push({ input: [] });
  acc.at(-1)!.input.push(x);
  return acc;
}, []);

/** axe-core on the page as it is: serious and critical violations go into `into`, named by page; a screenshot is kept. */
async function axeCheck(p: Page, name: string, into: string[]): Promise<void> {
  await p.addScriptTag({ path: AXE });
  const found = await p.evaluate(async () => {
    const r = await (window as any).axe.run(document, { resultTypes: ['violations'] });
    return r.violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n: any) => n.target.join(' ')).join(' | ')}`);
  });
  into.push(...found.map((f: string) => `${name}: ${f}`));
  await p.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
}

describe('web console', { skip: !fs.existsSync(CHROMIUM) && `no browser at ${CHROMIUM} (scripts/test installs Debian's chromium)` }, () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  let hook: http.Server;
  const alerts: unknown[] = [];
  const violations: string[] = [];
  const auth = { authorization: `Bearer ${ADMIN}` };

  const infer = async (n: number, scale = 1) => {
    for (let i = 0; i < n; i++) {
      const r = await call(s, 'POST', '/v1/pipelines/cancer/infer', rows.map((x) => ({ input: x.input.map((v) => v * scale) })), auth);
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
  };

  const check = (p: Page, name: string) => axeCheck(p, name, violations);

  const go = async (hash: string, ready: string) => {
    await page.goto(`${s.url}/#/${hash}`);
    await page.locator(ready).first().waitFor();
  };

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => { body += c; });
      req.on('end', () => { alerts.push(JSON.parse(body)); res.end('ok'); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    s = await testServer({ auth: true, adminToken: ADMIN, assays: { graceMs: 150, alerts: { minTimeoutMs: 100, retries: 2 }, allowPrivateWebhooks: true } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await s?.close();
    hook?.close();
  });

  it('serves the console at / with caching headers: index.html no-cache, hashed assets immutable', async () => {
    const index = await call(s, 'GET', '/');
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const asset = /src="(\/assets\/main-[A-Z0-9]+\.js)"/.exec(index.body.toString())![1];
    const js = await call(s, 'GET', asset);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control')!, /immutable/);
    assert.match(js.headers.get('content-type')!, /javascript/);
    assert.equal((await call(s, 'GET', '/assets/nope.js')).json.code, 'ROUTE_NOT_FOUND');
    // The first load's script, as a browser receives it (gzip): well under the 300 KB budget.
    const res = await fetch(s.url + asset, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(res.headers.get('content-encoding'), 'gzip');
    const wire = Number(res.headers.get('content-length'));
    assert.ok(wire > 0 && wire < 300 * 1024, `script ${wire} bytes compressed`);
  });

  it('signs in with a token kept in the session, and shows the first steps in an empty workspace', async () => {
    await page.goto(s.url);
    await check(page, '01-sign-in');
    await page.getByLabel('API token').fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).or(page.getByRole('alert')).first().waitFor();
    await page.getByLabel('API token').fill(ADMIN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('navigation', { name: 'Main' }).waitFor();
    assert.ok(!page.url().includes(ADMIN), 'the token is never in the URL');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('bettong.token')), ADMIN);
    // Keyboard: the skip link comes first, then the navigation; Enter follows a link.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Models', level: 1 }).waitFor();
    await go('models', 'text=Nothing deployed in this workspace yet');
    assert.match(await page.locator('pre.code').first().innerText(), /bettong model upload/);
  });

  it('uploads models from a file and shows a version with its signature and sha256', async () => {
    for (const [name, file] of [['logreg', 'breast_cancer_logreg'], ['scaled', 'breast_cancer_logreg_scaled']]) {
      await page.getByLabel('Model name').fill(name);
      await page.getByLabel('File').setInputFiles(path.join(MODELS, `${file}.onnx`));
      await page.getByLabel('Model name').fill(name);
      await page.getByRole('button', { name: 'Upload', exact: true }).click();
      await page.getByRole('status').filter({ hasText: `Uploaded ${name} version 1` }).waitFor();
    }
    await page.getByRole('link', { name: 'logreg', exact: true }).waitFor();
    await check(page, '02-models');
    await page.getByRole('link', { name: 'logreg', exact: true }).click();
    await page.getByText('input: FP32[?, 30]').waitFor();
    await check(page, '03-model');
  });

  it('creates an A/B pipeline from the form, deploys it with settings, and shows its graph', async () => {
    await go('pipelines', 'text=New pipeline');
    await page.getByRole('button', { name: 'New pipeline' }).click();
    await page.getByLabel('Pipeline name').fill('cancer');
    await page.getByLabel('Kind').selectOption('ab');
    await page.getByLabel('Arm 1', { exact: true }).selectOption('logreg');
    await page.getByLabel('Arm 1 weight').fill('3');
    await page.getByLabel('Arm 2', { exact: true }).selectOption('scaled');
    await page.getByLabel(/Validation/).fill('out.probabilities[1] < 0.00001');
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await page.getByRole('heading', { name: 'cancer', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Deploy…' }).click();
    await page.getByLabel(/^Replicas/).fill('2');
    await page.getByRole('button', { name: 'Deploy', exact: true }).click();
    await page.getByRole('button', { name: 'Undeploy' }).waitFor();
    assert.match(await page.locator('.graph').innerText(), /logreg:1[\s\S]*weight 3 · 75%[\s\S]*scaled:1[\s\S]*weight 1 · 25%/);
    const dep = await call(s, 'GET', '/v1/pipelines/cancer/deployment', undefined, auth);
    assert.equal(dep.json.status, 'running');
    assert.equal(dep.json.config.replicas, 2);
    // A shadow step: the champion answers, the challenger is drawn as a shadow.
    await call(s, 'POST', '/v1/pipelines', { name: 'shadowed', steps: [{ shadow: { champion: { model: 'logreg' }, challengers: [{ model: 'scaled' }] } }] }, auth);
    await go('pipelines/shadowed', 'text=champion · answers');
    assert.match(await page.locator('.graph').innerText(), /logreg:1\s+champion · answers[\s\S]*scaled:1\s+shadow challenger/);
  });

  it('shows live traffic that moves as requests arrive, with in-flight per replica', async () => {
    await go('pipelines/cancer', '[data-testid=live-total]');
    await infer(5);
    const total = page.getByTestId('live-total');
    await eventually(async () => Number(await total.innerText()) >= 5, 'the live chart to show the first requests', 15000);
    const before = Number(await total.innerText());
    await infer(7);
    await eventually(async () => Number(await total.innerText()) >= before + 7, 'the live chart to move', 15000);
    assert.match(await page.getByTestId('in-flight').innerText(), /#0: \d+[\s\S]*#1: \d+/);
    assert.equal(await page.getByTestId('chart-traffic').locator('canvas').count(), 1);
    await check(page, '04-pipeline');
    await page.getByRole('button', { name: '1 hour' }).click();
    await page.getByRole('button', { name: '1 hour', pressed: true }).waitFor();
    await go('pipelines', 'text=running');
    await check(page, '05-pipelines');
  });

  it('pages, filters and exports the inference logs, tensors summarised and expandable', async () => {
    await go('logs/cancer', '[data-testid=log-table]');
    const table = page.getByTestId('log-table');
    await eventually(async () => (await table.locator('tbody tr').count()) === 25, 'a full first page', 10000);
    assert.match(await table.locator('thead').innerText(), /in\.input[\s\S]*out\.probabilities[\s\S]*anomaly\.count[\s\S]*metadata\.latency_ms/i);
    await table.locator('details.tensor summary').first().click();
    assert.match(await table.locator('details.tensor[open] code').first().innerText(), /^\[\d/);
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.getByRole('heading', { name: /Page 2/ }).waitFor();
    await check(page, '06-logs');
    await page.getByLabel('Rows', { exact: true }).selectOption('true');
    await page.getByRole('heading', { name: /Page 1/ }).waitFor();
    // The heading changes before the filtered page arrives: wait until the table shows it.
    let anomalies = 0;
    await eventually(async () => {
      anomalies = await table.locator('tbody tr').count();
      return anomalies > 0 && (await table.locator('tbody tr.anomalous').count()) === anomalies;
    }, 'a first page of anomalous rows only', 10000);
    const exported = async (button: string) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: button }).click()]);
      return fs.readFileSync((await download.path())!, 'utf8');
    };
    const lines = (await exported('Export JSON Lines')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const [header, ...csvRows] = (await exported('Export CSV')).trim().split('\n');
    assert.ok(lines.length >= anomalies && lines.every((l) => (l['anomaly.count'] as number) > 0));
    assert.match(header, /^time,in\.input,out\./);
    assert.equal(csvRows.length, lines.length, 'the CSV has a row per JSON line');
  });

  it('creates an assay from the form after a live preview, then shows its alert, windows and histograms', async () => {
    await go('assays', 'text=No assays yet');
    await page.getByRole('link', { name: 'New assay' }).first().click();
    await page.getByLabel('Name').fill('p1-drift');
    await page.getByLabel('Column').selectOption('out.probabilities');
    await page.getByLabel('Element (tensor index)').fill('1');
    await page.getByLabel('Window width').fill('5s');
    await page.getByLabel('Values I paste').check();
    // A baseline far from what the traffic gives: every window with data alerts.
    await page.getByLabel(/^Values/).fill(Array.from({ length: 40 }, (_, i) => (0.3 + i / 200).toFixed(3)).join(', '));
    await page.getByLabel('Alert webhook (optional)').fill(`http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`);
    const summary = page.getByTestId('preview-summary');
    await summary.waitFor({ timeout: 15000 });
    assert.match(await summary.innerText(), /[1-9]\d* alert/);
    assert.equal(await page.getByTestId('score-chart').locator('canvas').count(), 1);
    await check(page, '07-assay-new');
    await page.getByRole('button', { name: 'Save assay' }).click();
    await page.getByRole('heading', { name: 'p1-drift', level: 1 }).waitFor();
    // Traffic through the next complete windows: the scheduler scores them and the alert is delivered.
    const until = Date.now() + 11_000;
    while (Date.now() < until) { await infer(1); await new Promise((r) => setTimeout(r, 400)); }
    await eventually(async () => alerts.length > 0, 'the alert webhook', 15000);
    await page.reload();
    await page.getByTestId('alerts').getByText('delivered').first().waitFor();
    await page.getByRole('table').getByRole('button').first().click();
    await page.getByTestId('histograms').locator('canvas').nth(1).waitFor();
    await check(page, '08-assay');
    await go('assays', 'text=p1-drift');
    assert.match(await page.locator('tbody tr').first().innerText(), /alert/i);
    await check(page, '09-assays');
  });

  it('compares the A/B arms with a chart and promotes the winner with a swap', async () => {
    await go('experiments/cancer', 'text=Arms and challengers');
    const groups = page.locator('.card').filter({ hasText: 'Arms and challengers' }).locator('tbody tr');
    assert.equal(await groups.count(), 2);
    await page.getByLabel('Chart').selectOption('latency');
    await check(page, '10-experiments');
    await page.getByRole('button', { name: 'Promote scaled:1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Promote' }).click();
    await page.getByRole('status').filter({ hasText: 'Promoted scaled:1' }).waitFor();
    const info = await call(s, 'GET', '/v1/pipelines/cancer', undefined, auth);
    assert.deepEqual(info.json.latest.steps.map((x: any) => [x.kind, x.model]), [['model', 'scaled']]);
    assert.equal(info.json.deployment.pipeline_version, info.json.latest.version);
    // A hot swap from the pipeline page, confirmed first.
    await go('pipelines/cancer', 'text=Steps of');
    await page.getByRole('button', { name: 'Swap a step…' }).click();
    await page.getByLabel('With model').selectOption('logreg');
    await page.getByRole('button', { name: 'Swap…' }).click();
    const dialog = page.getByRole('dialog');
    assert.match(await dialog.innerText(), /Step 1 of cancer becomes logreg \(latest\)/);
    await dialog.getByRole('button', { name: 'Swap now' }).click();
    await page.getByRole('heading', { name: `Steps of v${info.json.latest.version + 1} (deployed)` }).waitFor();
    assert.match(await page.locator('.graph').innerText(), /logreg:1/);
  });

  it('creates a token shown once, revokes it, and shows both in the audit log', async () => {
    await go('access', 'text=Your API tokens');
    await page.getByLabel('Name', { exact: true }).fill('ci-deploy');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = await page.getByTestId('new-secret').innerText();
    assert.equal((await call(s, 'GET', '/v1/models', undefined, { authorization: `Bearer ${secret}` })).status, 200);
    await page.getByRole('row', { name: /ci-deploy/ }).getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('row', { name: /ci-deploy/ }).waitFor({ state: 'detached' });
    assert.equal((await call(s, 'GET', '/v1/models', undefined, { authorization: `Bearer ${secret}` })).status, 401);
    await page.getByLabel('Action').selectOption('token.');
    await page.getByTestId('audit').getByText('token.revoke').waitFor();
    await check(page, '11-access');
  });

  it('switches workspace: another workspace shows its own (empty) pipelines', async () => {
    await call(s, 'POST', '/v1/workspaces', { name: 'staging' }, auth);
    await page.reload();
    await page.getByLabel('Workspace', { exact: true }).selectOption('staging');
    await go('pipelines', 'text=Nothing deployed in this workspace yet');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('bettong.workspace')), 'staging');
    await page.getByLabel('Workspace', { exact: true }).selectOption('default');
    await go('pipelines', 'text=cancer');
  });

  it('a viewer sees no deploy button, and a forced deploy is refused (403)', async () => {
    await call(s, 'POST', '/v1/users', { name: 'vera' }, auth);
    await call(s, 'POST', '/v1/members', { user: 'vera', role: 'viewer' }, auth);
    const token = (await call(s, 'POST', '/v1/tokens', { name: 'vera-console', user: 'vera' }, auth)).json.secret;
    const viewer = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    await viewer.goto(s.url);
    await viewer.getByLabel('API token').fill(token);
    await viewer.getByRole('button', { name: 'Sign in' }).click();
    assert.equal(await viewer.getByTestId('role').innerText(), 'viewer');
    await viewer.goto(`${s.url}/#/pipelines/cancer`);
    await viewer.getByText('Steps of').waitFor();
    assert.equal(await viewer.getByRole('button', { name: /Deploy|Undeploy|Swap/ }).count(), 0);
    const status = await viewer.evaluate(async () => (await fetch('/v1/pipelines/cancer/deploy', {
      method: 'POST', headers: { authorization: `Bearer ${sessionStorage.getItem('bettong.token')}`, 'content-type': 'application/json' }, body: '{}',
    })).status);
    assert.equal(status, 403);
    await check(viewer, '12-viewer-pipeline');
    await viewer.close();
  });

  it('has no serious or critical accessibility violation (axe-core) and no script error on any page', () => {
    assert.deepEqual(violations, []);
  });
});

describe('web console: performance monitors', { skip: !fs.existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  let s: TestServer;
  let browser: Browser;
  let page: Page;
  const violations: string[] = [];
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  // The fixture's malignant rows scaled down: the model splits them between both classes.
  const scaled = (n: number) => Array.from({ length: n }, (_, i) => ({ input: rows[i % rows.length].input.map((v) => v * (0.6 + 0.25 * ((i * 7) % 11) / 10)) }));
  /** Infers rows with a transaction id each, answers the predicted labels. */
  const predict = async (txIds: string[]) => (await s.client.inferRecords('bc', scaled(txIds.length), { transaction_id: txIds })).map((r) => r['out.label'] as number);

  before(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    s = await testServer({ assays: { graceMs: 100, recheckMs: 200 } });
    await deployPipeline(s, 'bc', ['breast_cancer_logreg']);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('pageerror', (e) => violations.push(`page error: ${e.message}`));
  });

  after(async () => {
    await browser?.close();
    await s?.close();
  });

  const check = (name: string) => axeCheck(page, name, violations);

  it('shows how to create a monitor when there is none', async () => {
    await page.goto(s.url);
    await page.getByRole('button', { name: 'Continue without a token (local mode)' }).click();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Monitors' }).click();
    await page.getByText('No performance monitors yet').waitFor();
    assert.match(await page.locator('pre.code').first().innerText(), /bettong monitor create/);
    assert.match(await page.locator('pre.code').nth(1).innerText(), /build_monitor/);
    await check('13-monitors-empty');
  });

  it('shows a monitor with labels: metric and CBPE band over time, windows with coverage, confusion matrix, unmatched labels, pause', async () => {
    // Two past windows: the reference (10 % wrong labels) and a bad one (45 % wrong); labels for both, and 3 for no prediction.
    const width = 1500;
    const t0 = Math.ceil(Date.now() / width) * width + width;
    await sleep(t0 - Date.now() + 50);
    const ref = await predict(ids('r', 40));
    await sleep(t0 + width - Date.now() + 50);
    const bad = await predict(ids('w', 40));
    await sleep(t0 + 2 * width - Date.now() + 50);
    const labels = [
      ...ids('r', 40).map((transaction_id, i) => ({ transaction_id, is_malignant: i % 10 === 0 ? 1 - ref[i] : ref[i] })),
      ...ids('w', 40).map((transaction_id, i) => ({ transaction_id, is_malignant: i % 20 < 9 ? 1 - bad[i] : bad[i] })),
      ...ids('zz', 3).map((transaction_id) => ({ transaction_id, is_malignant: 1 })),
    ];
    const up = await call(s, 'POST', '/v1/pipelines/bc/feedback?key=metadata.transaction_id', labels);
    assert.equal(up.json.unmatched, 3, up.body.toString());
    const created = await call(s, 'POST', '/v1/monitors', {
      name: 'bc-accuracy', pipeline: 'bc', task: 'classification', key: 'metadata.transaction_id', label: 'is_malignant',
      prediction: { column: 'out.label' }, probabilities: { column: 'out.probabilities' }, metric: 'accuracy',
      window: { width: `${width}ms`, start: t0 }, thresholds: { warning: 0.8, alert: 0.7 }, coverage: { min: 0.9, max_delay: '1h' },
      reference: { start: t0, end: t0 + width },
    });
    assert.equal(created.status, 201, created.body.toString());
    const results = await eventually(async () => {
      const r = (await call(s, 'GET', '/v1/monitors/bc-accuracy/results')).json.results;
      return r.length >= 2 && r[1].state === 'final' && r;
    }, 'both windows final', 10000);
    assert.equal(results[1].status, 'alert');
    assert.ok(results[1].confusion_matrix, 'the results carry the confusion matrix');

    await page.goto(`${s.url}/#/monitors`);
    const row = page.getByRole('row', { name: /bc-accuracy/ });
    await row.waitFor();
    assert.match(await row.innerText(), /bc\s+classification\s+accuracy[\s\S]*active/i);
    await check('14-monitors');
    await row.getByRole('link', { name: 'bc-accuracy' }).click();
    await page.getByRole('heading', { name: 'bc-accuracy', level: 1 }).waitFor();
    await page.getByTestId('metric-chart').locator('canvas').waitFor();
    const legend = await page.getByTestId('metric-chart').innerText();
    assert.match(legend, /accuracy \(realised\)[\s\S]*accuracy \(estimated, CBPE\)[\s\S]*warning[\s\S]*alert[\s\S]*CBPE band/);
    const windows = page.getByTestId('windows').locator('tbody tr');
    assert.ok(await windows.count() >= 2);
    // The bad window: fully labelled, final, in alert; picking it shows its confusion matrix.
    const badRow = windows.filter({ hasText: /alert/i });
    assert.match(await badRow.innerText(), /40\s+40\s+100%\s+0\.55[\s\S]*final\s+alert/i);
    await badRow.getByRole('button').click();
    const matrix = page.getByTestId('confusion');
    await matrix.getByText('40 labelled').waitFor();
    assert.match(await matrix.innerText(), /label ↓ \/ predicted →/i);
    const cells = (await matrix.locator('tbody td').allInnerTexts()).map(Number);
    assert.equal(cells.reduce((a, b) => a + b, 0), 40);
    assert.match(await page.getByTestId('unmatched').innerText(), /^3 current labels of bc match no logged prediction/);
    await check('15-monitor');
    await page.getByRole('button', { name: 'Pause' }).click();
    await page.getByRole('button', { name: 'Resume' }).waitFor();
    assert.equal((await call(s, 'GET', '/v1/monitors/bc-accuracy')).json.state, 'paused');
  });

  it('has no serious or critical accessibility violation (axe-core) and no script error', () => {
    assert.deepEqual(violations, []);
  });
});

describe('web console in local mode', { skip: !fs.existsSync(CHROMIUM) && `no browser at ${CHROMIUM}` }, () => {
  it('opens without a token on a loopback server without --auth, as the admin', async () => {
    const s = await testServer();
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    try {
      const page = await browser.newPage();
      await page.goto(s.url);
      await page.getByRole('button', { name: 'Continue without a token (local mode)' }).click();
      assert.equal(await page.getByTestId('role').innerText(), 'admin');
      await page.getByText('Nothing deployed in this workspace yet').waitFor();
      assert.equal(await page.evaluate(() => sessionStorage.getItem('bettong.token')), null);
    } finally {
      await browser.close();
      await s.close();
    }
  });
});
