/**
 * Workspaces, members, roles, API tokens, the audit log and limits, over HTTP against real
 * servers with auth on (on 127.0.0.1: auth is what a non-loopback bind requires).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { hashSecret } from '../src/access/index.ts';
import { BettongApiError, BettongClient } from '../src/sdk/index.ts';
import { ROOT, type TestServer, call, eventually, expected, modelBytes, oipRequest, serveEnv, tempDir, testServer } from './helpers.ts';

const BIN = path.join(ROOT, 'bin', 'bettong.mjs');
const exec = promisify(execFile);
const adminSecret = () => `btg_test_${crypto.randomBytes(24).toString('base64url')}`;
const digits = () => modelBytes('digits_mlp');
const e = expected('digits_mlp');
const records = () => [{ input: (e.inputs.input.data as number[]).slice(0, 64) }];

/** The error a call is refused with. */
async function refused(p: Promise<unknown>): Promise<{ status: number; code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BettongApiError) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
  throw new Error('expected the call to be refused, it succeeded');
}

const headers = (token?: string, workspace?: string): Record<string, string> => ({
  ...(token ? { authorization: `Bearer ${token}` } : {}),
  ...(workspace ? { 'bettong-workspace': workspace } : {}),
});

describe('access with auth on', () => {
  let s: TestServer;
  const ADMIN = adminSecret();
  let admin: BettongClient;
  const secrets: Record<string, string> = { admin: ADMIN };
  const as = (who: string, workspace = 'team-a') => new BettongClient({ url: s.url, token: secrets[who], workspace });

  before(async () => {
    s = await testServer({ auth: true, adminToken: ADMIN });
    admin = new BettongClient({ url: s.url, token: ADMIN, workspace: 'team-a' });
    await admin.createWorkspace('team-a');
    await admin.createWorkspace('team-b');
    for (const [user, ws, role] of [['olivia', 'team-a', 'owner'], ['eddie', 'team-a', 'editor'], ['vera', 'team-a', 'viewer'], ['bob', 'team-b', 'owner']] as const) {
      await admin.createUser(user);
      await admin.inWorkspace(ws).addMember(user, role);
      secrets[user] = (await admin.createToken('laptop', { user })).secret;
    }
    // An application's token: eddie's, limited to inference in team-a.
    secrets.app = (await admin.createToken('app', { user: 'eddie', workspace: 'team-a', inferenceOnly: true })).secret;
    await admin.uploadModel('digits', digits());
    await admin.createPipeline('p', [{ model: 'digits' }]);
    await admin.deploy('p');
    await admin.inferRecords('p', records());
  });
  after(async () => { await s?.close(); });

  it('refuses requests without a token or with a bad one (401), and says how to authenticate', async () => {
    for (const route of ['/v1/models', '/v1/workspaces', '/v2', '/v2/models/p']) {
      const r = await call(s, 'GET', route);
      assert.equal(r.status, 401, route);
      assert.equal(r.json.code, 'UNAUTHENTICATED');
      assert.match(r.json.error, /Authorization: Bearer/);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer/);
    }
    const bad = await call(s, 'POST', '/v2/models/p/infer', oipRequest(e), headers('btg_not-a-real-token'));
    assert.equal(bad.status, 401);
    assert.doesNotMatch(bad.json.error, /not-a-real-token/);
    assert.equal((await call(s, 'GET', '/v1/models', undefined, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` })).status, 401);
    // Health probes stay open for load balancers; the API description is public.
    assert.equal((await call(s, 'GET', '/v2/health/live')).status, 200);
    assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 200);
    assert.equal((await call(s, 'GET', '/openapi.json')).status, 200);
  });

  it('role x action matrix: owner, editor, viewer and an inference-only token', async () => {
    const actions: Record<string, (c: BettongClient, who: string) => Promise<unknown>> = {
      'upload a model': (c, who) => c.uploadModel(`m-${who}`, digits()),
      'create a pipeline': (c, who) => c.createPipeline(`p-${who}`, [{ model: 'digits' }]),
      'deploy': (c) => c.deploy('p'),
      'infer (records)': (c) => c.inferRecords('p', records()),
      'infer (OIP)': (c) => c.infer('p', oipRequest(e) as never),
      'read models': (c) => c.listModels(),
      'read logs': (c) => c.logs('p', { limit: 1 }),
      'manage members': (c) => c.addMember('vera', 'viewer'),
      'list members': (c) => c.listMembers(),
      'read the audit log': (c) => c.audit({ limit: 1 }),
    };
    const allowed: Record<string, string[]> = {
      olivia: Object.keys(actions),
      eddie: ['upload a model', 'create a pipeline', 'deploy', 'infer (records)', 'infer (OIP)', 'read models', 'read logs', 'list members'],
      vera: ['read models', 'read logs', 'list members'],
      app: ['infer (records)', 'infer (OIP)'],
    };
    const seen: string[] = [];
    for (const [who, ok] of Object.entries(allowed)) {
      for (const [action, run] of Object.entries(actions)) {
        if (ok.includes(action)) {
          await run(as(who), who);
          seen.push(`${who} may ${action}`);
        } else {
          const r = await refused(run(as(who), who));
          assert.equal(r.status, 403, `${who} must not ${action}: ${r.message}`);
          assert.equal(r.code, 'PERMISSION_DENIED');
          seen.push(`${who} may not ${action}`);
        }
      }
    }
    assert.equal(seen.length, 40);
    // The refusal says why.
    assert.match((await refused(as('vera').deploy('p'))).message, /viewer in workspace 'team-a'; deployment:write needs editor/);
    assert.match((await refused(as('app').deploy('p'))).message, /inference-only/);
  });

  it('inference-only tokens cannot deploy, upload, manage tokens or list workspaces', async () => {
    const app = as('app');
    const calls = [() => app.deploy('p'), () => app.undeploy('p'), () => app.uploadModel('x', digits()), () => app.createToken('more'), () => app.listWorkspaces(), () => app.listTokens(), () => app.swap('p', { step: 1, model: 'digits' })];
    for (const c of calls) {
      assert.equal((await refused(c())).status, 403);
    }
    // ...but can read what an inference client needs: the OIP model metadata.
    assert.equal((await call(s, 'GET', '/v2/models/p', undefined, headers(secrets.app))).status, 200);
    assert.equal((await call(s, 'GET', '/v2/models/p/ready', undefined, headers(secrets.app))).status, 200);
  });

  it('isolates workspaces: another workspace\'s models, pipelines, logs and endpoints are not found, and names do not leak', async () => {
    const bob = as('bob', 'team-b');
    // Bob works in team-b with the same names as team-a: names are unique within a workspace, not across.
    await bob.uploadModel('digits', digits());
    await bob.createPipeline('p', [{ model: 'digits' }]);
    assert.deepEqual((await bob.listModels()).map((m) => m.name), ['digits']);
    assert.deepEqual((await bob.listPipelines()).map((p) => p.name), ['p']);
    for (const name of ['m-olivia', 'm-eddie']) assert.equal((await refused(bob.getModel(name))).code, 'MODEL_NOT_FOUND');
    assert.equal((await refused(bob.getPipeline('p-olivia'))).code, 'PIPELINE_NOT_FOUND');
    assert.equal((await refused(bob.logs('p-olivia'))).code, 'PIPELINE_NOT_FOUND');
    // Team-b's "p" is not deployed: team-a's deployment of "p" does not answer for it.
    assert.equal((await refused(bob.inferRecords('p', records()))).code, 'PIPELINE_NOT_DEPLOYED');
    assert.equal((await refused(bob.infer('p', oipRequest(e) as never))).code, 'PIPELINE_NOT_DEPLOYED');
    assert.equal((await bob.logs('p')).records.length, 0);

    // Naming team-a: exactly what a workspace that does not exist answers.
    const intoA = as('bob', 'team-a');
    const nope = as('bob', 'no-such-workspace');
    for (const [c, name] of [[intoA, 'team-a'], [nope, 'no-such-workspace']] as const) {
      for (const p of [() => c.listModels(), () => c.getModel('digits'), () => c.logs('p'), () => c.inferRecords('p', records()), () => c.infer('p', oipRequest(e) as never), () => c.listMembers()]) {
        const r = await refused(p());
        assert.equal(r.status, 404);
        assert.equal(r.code, 'WORKSPACE_NOT_FOUND');
        assert.equal(r.message, `workspace '${name}' not found`);
      }
    }
    const oip = await call(s, 'POST', '/v2/models/p/infer', oipRequest(e), headers(secrets.bob, 'team-a'));
    assert.equal(oip.status, 404);
    assert.ok(!(await bob.listWorkspaces()).some((w) => w.name === 'team-a'));
    // A token limited to team-a: team-b is not found for eddie (not a member)...
    assert.equal((await refused(as('app', 'team-b').inferRecords('p', records()))).status, 404);
    // ...and once he is a member there, his team-a-only token is still refused in team-b.
    await bob.addMember('eddie', 'editor');
    assert.equal((await refused(as('app', 'team-b').inferRecords('p', records()))).code, 'PERMISSION_DENIED');
    await bob.removeMember('eddie');

    // Logs stay in their workspace.
    await bob.deploy('p');
    const before = (await admin.logs('p', { limit: 10000 })).records.length;
    await bob.inferRecords('p', records(), { who: 'bob' });
    await eventually(async () => (await bob.logs('p')).records.length === 1, 'bob\'s log row');
    assert.equal((await admin.logs('p', { limit: 10000 })).records.length, before);
    await bob.undeploy('p');
  });

  it('revoking a token takes effect on the very next request', async () => {
    const { secret } = await as('eddie').createToken('short-lived');
    const c = new BettongClient({ url: s.url, token: secret, workspace: 'team-a' });
    assert.equal((await c.listModels()).length > 0, true);
    assert.deepEqual(await as('eddie').revokeToken('short-lived'), { revoked: 'short-lived', user: 'eddie' });
    const r = await refused(c.listModels());
    assert.equal(r.status, 401);
    assert.equal(r.code, 'UNAUTHENTICATED');
    assert.equal((await refused(c.inferRecords('p', records()))).status, 401);
    assert.ok(!(await as('eddie').listTokens()).some((t) => t.name === 'short-lived'));
    // Another user's tokens are theirs to revoke (or an admin's).
    assert.equal((await refused(as('vera').revokeToken('laptop', { user: 'eddie' }))).status, 403);
  });

  it('refuses expired tokens', async () => {
    const { secret, token } = await as('eddie').createToken('brief', { expiresIn: 400 });
    assert.ok(token.expires_at);
    const c = new BettongClient({ url: s.url, token: secret, workspace: 'team-a' });
    await c.inferRecords('p', records());
    await new Promise((r) => setTimeout(r, 500));
    const r = await refused(c.inferRecords('p', records()));
    assert.equal(r.status, 401);
    assert.match(r.message, /expired/);
    assert.equal((await refused(as('eddie').createToken('past', { expiresAt: Date.now() - 1000 }))).code, 'INVALID_REQUEST');
  });

  it('members: owners add, change and remove them; a workspace keeps its last owner', async () => {
    const olivia = as('olivia');
    await admin.createUser('walt');
    assert.deepEqual({ ...(await olivia.addMember('walt', 'viewer')), since: '' }, { user: 'walt', role: 'viewer', since: '', previous: null });
    assert.equal((await olivia.addMember('walt', 'editor')).previous, 'viewer');
    assert.deepEqual((await olivia.listMembers()).map((m) => `${m.user}:${m.role}`), ['admin:owner', 'eddie:editor', 'olivia:owner', 'vera:viewer', 'walt:editor']);
    await olivia.removeMember('walt');
    assert.equal((await refused(olivia.removeMember('walt'))).code, 'MEMBER_NOT_FOUND');
    assert.equal((await refused(olivia.addMember('nobody', 'viewer'))).code, 'USER_NOT_FOUND');
    // Bob makes a workspace of his own: he is its only owner, and stays one.
    await as('bob').createWorkspace('bobs');
    const bob = as('bob', 'bobs');
    assert.deepEqual((await bob.listMembers()).map((m) => `${m.user}:${m.role}`), ['bob:owner']);
    assert.equal((await refused(bob.removeMember('bob'))).code, 'LAST_OWNER');
    assert.equal((await refused(bob.addMember('bob', 'viewer'))).code, 'LAST_OWNER');
    // Only admins create users.
    assert.equal((await refused(olivia.createUser('mallory'))).status, 403);
  });

  it('the audit log records who did what, where, to what and how it ended; owners read it', async () => {
    const { records: recs } = await as('olivia').audit({ limit: 1000 });
    const find = (action: string, user: string, outcome = 'ok', target?: string) =>
      recs.find((r) => r.action === action && r.user === user && r.outcome === outcome && (target === undefined || r.target === target));
    const upload = find('model.upload', 'eddie');
    assert.ok(upload, 'eddie uploaded');
    assert.equal(upload.token, 'laptop');
    assert.equal(upload.workspace, 'team-a');
    assert.equal(upload.target, 'm-eddie');
    assert.equal(upload.detail.version, 1);
    assert.ok(find('pipeline.create', 'olivia'));
    assert.equal(find('pipeline.deploy', 'eddie')?.target, 'p');
    assert.ok(find('pipeline.deploy', 'admin'));
    const denied = find('pipeline.deploy', 'vera', 'refused');
    assert.ok(denied, 'refusals are recorded too');
    assert.equal(denied.status, 403);
    assert.equal(denied.error, 'PERMISSION_DENIED');
    assert.equal(find('pipeline.deploy', 'eddie', 'refused')?.token, 'app');
    assert.equal(find('member.role', 'olivia')?.target, 'walt');
    assert.ok(find('member.remove', 'olivia'));
    assert.equal(find('member.add', 'admin', 'ok', 'olivia')?.detail.role, 'owner');
    assert.ok(find('token.create', 'admin'), 'the team-a app token was made by the admin');
    assert.ok(recs.every((r) => r.workspace === 'team-a'));
    // Newest first, paged.
    const page = await as('olivia').audit({ limit: 2 });
    assert.equal(page.records.length, 2);
    assert.ok(page.records[0].id > page.records[1].id);
    const next = await as('olivia').audit({ limit: 2, cursor: page.next_cursor! });
    assert.ok(next.records[0].id < page.records[1].id);
    assert.ok((await as('olivia').audit({ action: 'member.' })).records.every((r) => r.action.startsWith('member.')));
    // Another workspace's owner sees only their own.
    const b = await as('bob', 'team-b').audit({ limit: 1000 });
    assert.ok(b.records.length > 0 && b.records.every((r) => r.workspace === 'team-b'));
    // Platform events: unscoped tokens, users.
    const platform = await admin.audit({ platform: true, limit: 1000 });
    assert.ok(platform.records.some((r) => r.action === 'user.create' && r.target === 'olivia'));
    assert.ok(platform.records.some((r) => r.action === 'token.revoke' && r.target === 'short-lived' && r.user === 'eddie'));
    assert.equal((await refused(as('olivia').audit({ platform: true }))).status, 403);
  });

  it('tokens never appear in API output: token lists, the audit log, inference logs', async () => {
    const outputs = [
      await admin.listTokens({ user: '*' }), await as('eddie').listTokens(), await admin.audit({ limit: 10000 }),
      await admin.audit({ platform: true, limit: 10000 }), await as('bob', 'team-b').audit({ limit: 10000 }),
      await admin.logs('p', { limit: 10000 }), await admin.listWorkspaces(), await admin.listUsers(), await as('app').whoami(),
    ];
    const text = JSON.stringify(outputs);
    const exported = await new Response(await admin.exportLogs('p')).text();
    assert.ok(exported.length > 0);
    for (const [who, secret] of Object.entries(secrets)) {
      for (const t of [text, exported]) {
        assert.ok(!t.includes(secret), `${who}'s secret leaked`);
        assert.ok(!t.includes(hashSecret(secret)), `${who}'s token hash leaked`);
      }
    }
    const eddie = (await admin.listTokens({ user: 'eddie' })).map((t) => t.name).sort();
    assert.deepEqual(eddie, ['app', 'brief', 'laptop']);
    assert.deepEqual(Object.keys((await admin.listTokens())[0]).sort(), ['created_at', 'expires_at', 'id', 'inference_only', 'last_used_at', 'name', 'revoked_at', 'user', 'workspace']);
  });

  it('workspaces: list with roles, rename, archive (pipelines undeployed, reads only), unarchive', async () => {
    assert.deepEqual((await as('vera').listWorkspaces()).map((w) => `${w.name}:${w.role}`), ['team-a:viewer']);
    assert.ok((await admin.listWorkspaces()).some((w) => w.name === 'default'));
    assert.equal((await refused(as('vera').renameWorkspace('team-a', 'x'))).status, 403);
    assert.equal((await refused(as('bob', 'team-b').renameWorkspace('team-a', 'x'))).code, 'WORKSPACE_NOT_FOUND');
    assert.equal((await refused(admin.createWorkspace('team-b'))).code, 'WORKSPACE_EXISTS');

    const bob = as('bob', 'team-b');
    await bob.deploy('p');
    assert.equal((await bob.archiveWorkspace('team-b')).archived, true);
    assert.equal((await bob.deploymentStatus('p')).status, 'undeployed');
    assert.deepEqual((await bob.listModels()).map((m) => m.name), ['digits']);
    assert.equal((await refused(bob.uploadModel('other', digits()))).code, 'WORKSPACE_ARCHIVED');
    assert.equal((await refused(bob.deploy('p'))).code, 'WORKSPACE_ARCHIVED');
    await bob.unarchiveWorkspace('team-b');

    const renamed = await bob.renameWorkspace('team-b', 'team-c');
    assert.equal(renamed.name, 'team-c');
    assert.equal((await refused(bob.listModels())).code, 'WORKSPACE_NOT_FOUND');
    assert.deepEqual((await as('bob', 'team-c').listModels()).map((m) => m.name), ['digits']);
    const names = (await as('bob', 'team-c').audit({ limit: 1000 })).records.map((r) => r.action);
    for (const a of ['workspace.archive', 'workspace.unarchive', 'workspace.rename']) assert.ok(names.includes(a), a);
  });

  it('a token limited to a workspace acts there without naming it, and only there', async () => {
    const { secret } = await as('olivia').createToken('ci', { workspace: 'team-a' });
    const ci = new BettongClient({ url: s.url, token: secret });
    assert.ok((await ci.listModels()).some((m) => m.name === 'm-olivia'));
    assert.deepEqual((await ci.listWorkspaces()).map((w) => w.name), ['team-a']);
    assert.equal((await refused(ci.createWorkspace('elsewhere'))).status, 403);
    // Tokens it makes are limited to team-a too.
    assert.equal((await ci.createToken('ci-2')).token.workspace, 'team-a');
    assert.equal((await refused(ci.createToken('ci-3', { workspace: 'default' }))).status, 404);
  });

  it('without a workspace named, an unscoped token acts in the default workspace, and says how to choose when it is not a member', async () => {
    const vera = new BettongClient({ url: s.url, token: secrets.vera });
    const r = await refused(vera.listModels());
    assert.equal(r.code, 'WORKSPACE_NOT_FOUND');
    assert.match(r.message, /Bettong-Workspace header/);
    assert.deepEqual(await vera.whoami(), { user: 'vera', admin: false, token: { name: 'laptop', workspace: null, inference_only: false } });
  });
});

describe('rate limiting on inference routes', () => {
  let s: TestServer;
  const ADMIN = adminSecret();
  before(async () => { s = await testServer({ auth: true, adminToken: ADMIN, rateLimit: { perSecond: 2, burst: 3 } }); });
  after(async () => { await s?.close(); });

  it('answers 429 with Retry-After once a token spends its burst; other tokens and the control plane are unaffected', async () => {
    const admin = new BettongClient({ url: s.url, token: ADMIN });
    await admin.uploadModel('digits', digits());
    await admin.createPipeline('p', [{ model: 'digits' }]);
    await admin.deploy('p');
    const other = (await admin.createToken('other')).secret;
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 5; i++) {
      const r = await call(s, 'POST', '/v1/pipelines/p/infer', records(), headers(ADMIN));
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    assert.ok(limited, `expected a 429 in ${statuses}`);
    assert.equal(limited.json.code, 'RATE_LIMITED');
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    // OIP infer shares the token's bucket.
    assert.equal((await call(s, 'POST', '/v2/models/p/infer', oipRequest(e), headers(ADMIN))).status, 429);
    assert.equal((await call(s, 'POST', '/v1/pipelines/p/infer', records(), headers(other))).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await call(s, 'GET', '/v1/models', undefined, headers(ADMIN))).status, 200);
    // The bucket refills: two per second.
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await call(s, 'POST', '/v1/pipelines/p/infer', records(), headers(ADMIN))).status, 200);
  });
});

describe('binding and local mode', () => {
  const freePort = () => new Promise<number>((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
  const connects = (port: number, host: string) => new Promise<boolean>((resolve) => {
    const sock = net.connect(port, host).on('connect', () => { sock.destroy(); resolve(true); }).on('error', () => resolve(false));
  });

  it('refuses to bind a non-loopback address without auth, with a clear message, before listening or touching the data dir', async () => {
    const port = await freePort();
    const dataDir = path.join(tempDir(), 'data');
    await assert.rejects(testServer({ host: '0.0.0.0', port, dataDir }), /refusing to listen on 0\.0\.0\.0 without authentication.*--auth/);
    assert.equal(await connects(port, '127.0.0.1'), false);
    assert.equal(fs.existsSync(dataDir), false);
  });

  it('the CLI refuses too, and exits non-zero', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const r = await exec(process.execPath, [BIN, 'serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir], { env: { ...process.env, BETTONG_AUTH: '' } })
      .then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0 without authentication/);
  });

  it('local mode: on loopback without auth, no token acts as the admin; a token given is still checked', async () => {
    const s = await testServer();
    try {
      assert.deepEqual((await call(s, 'GET', '/v1/whoami')).json, { user: 'admin', admin: true, token: null });
      assert.equal((await call(s, 'GET', '/v1/models', undefined, headers('btg_wrong'))).status, 401);
      const local = new BettongClient({ url: s.url, token: '' });
      await local.createWorkspace('elsewhere');
      assert.equal((await call(s, 'GET', '/v1/models', undefined, headers(undefined, 'elsewhere'))).status, 200);
      assert.equal((await call(s, 'GET', '/v1/models', undefined, headers(undefined, 'missing'))).status, 404);
      const audit = (await call(s, 'GET', '/v1/audit/platform')).json.records;
      assert.ok(audit.some((r: { action: string; token: string | null }) => r.action === 'user.create'));
    } finally {
      await s.close();
    }
  });
});

describe('bettong serve --auth and the CLI: the one-time admin token, access commands, no token in the server output', () => {
  const dataDir = tempDir();
  const procs: ChildProcess[] = [];
  after(() => { for (const p of procs) p.kill('SIGKILL'); });

  async function start(env: Record<string, string> = {}): Promise<{ proc: ChildProcess; url: string; output: () => string }> {
    const proc = spawn(process.execPath, [BIN, 'serve', '--auth', '--data-dir', dataDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BETTONG_ADMIN_TOKEN: '', ...(await serveEnv(dataDir)), ...env },
    });
    procs.push(proc);
    let out = '';
    proc.stdout!.on('data', (d) => { out += d; });
    proc.stderr!.on('data', (d) => { out += d; });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000);
      const check = () => {
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(m[1]); }
      };
      proc.stdout!.on('data', check);
      proc.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    return { proc, url, output: () => out };
  }
  const stop = (p: ChildProcess) => new Promise<void>((resolve) => { p.once('exit', () => resolve()); p.kill('SIGTERM'); });

  it('prints the admin token on the first start only; tokens used later never reach stdout or stderr', async () => {
    const first = await start();
    const m = /(btg_[A-Za-z0-9_-]{43})/.exec(first.output());
    assert.ok(m, `no admin token printed: ${first.output()}`);
    const adminToken = m[1];
    const admin = new BettongClient({ url: first.url, token: adminToken });
    assert.equal((await admin.whoami()).user, 'admin');
    const { secret } = await admin.createToken('ops');
    const ops = new BettongClient({ url: first.url, token: secret });
    await ops.uploadModel('digits', digits());
    await ops.createPipeline('p', [{ model: 'digits' }]);
    await ops.deploy('p');
    await ops.inferRecords('p', records());
    await refused(ops.getModel('missing'));
    await refused(ops.inferRecords('p', [{ nope: 1 }]));
    await call({ url: first.url }, 'GET', '/v1/models', undefined, headers(`${secret}x`));

    // The CLI, as an admin and as the user it makes: --token / BETTONG_TOKEN, --workspace / BETTONG_WORKSPACE.
    const cli = async (token: string, ...args: string[]) => {
      const env = { ...process.env, BETTONG_TOKEN: token, BETTONG_WORKSPACE: '' };
      const { stdout } = await exec(process.execPath, [BIN, '--url', first.url, '--json', ...args], { env });
      return JSON.parse(stdout);
    };
    assert.equal((await cli(adminToken, 'workspace', 'create', 'cli-ws')).name, 'cli-ws');
    assert.equal((await cli(adminToken, 'user', 'create', 'carol')).name, 'carol');
    const carol = (await cli(adminToken, 'token', 'create', 'c1', '--user', 'carol', '--expires', '30d')).secret;
    const added = await cli(adminToken, '--workspace', 'cli-ws', 'member', 'add', 'carol', '--role', 'viewer');
    assert.deepEqual([added.user, added.role, added.previous], ['carol', 'viewer', null]);
    assert.deepEqual((await cli(adminToken, '--workspace', 'cli-ws', 'member', 'list')).map((m: { user: string; role: string }) => `${m.user}:${m.role}`), ['admin:owner', 'carol:viewer']);
    assert.deepEqual(await cli(carol, '--workspace', 'cli-ws', 'model', 'list'), []);
    const upload = await exec(process.execPath, [BIN, '--url', first.url, '--token', carol, '--workspace', 'cli-ws', 'model', 'upload', 'm', path.join(ROOT, 'testdata', 'models', 'digits_mlp.onnx')])
      .then(() => ({ code: 0, stderr: '' }), (err: { code: number; stderr: string }) => err);
    assert.equal(upload.code, 1);
    assert.match(upload.stderr, /PERMISSION_DENIED: user 'carol' is a viewer in workspace 'cli-ws'/);
    assert.deepEqual((await cli(carol, 'token', 'list')).map((t: { name: string }) => t.name), ['c1']);
    assert.deepEqual((await cli(carol, 'workspace', 'list')).map((w: { name: string; role: string }) => `${w.name}:${w.role}`), ['cli-ws:viewer']);
    const audit = await cli(adminToken, '--workspace', 'cli-ws', 'audit', '--since', '1h');
    assert.deepEqual(audit.records.map((r: { action: string; outcome: string }) => `${r.action}:${r.outcome}`), ['model.upload:refused', 'member.add:ok', 'workspace.create:ok']);
    assert.equal((await cli(adminToken, 'workspace', 'rename', 'cli-ws', 'cli-team')).name, 'cli-team');
    assert.equal((await cli(adminToken, 'workspace', 'archive', 'cli-team')).archived, true);
    assert.equal((await cli(adminToken, 'token', 'revoke', 'c1', '--user', 'carol')).revoked, 'c1');
    await assert.rejects(cli(carol, 'token', 'list'), /UNAUTHENTICATED/);
    await stop(first.proc);
    assert.ok(!first.output().includes(carol));
    assert.equal(first.output().split(adminToken).length - 1, 1, 'the admin token is printed exactly once');
    assert.ok(!first.output().includes(secret));
    assert.ok(!first.output().includes(hashSecret(secret)));

    // A restart prints no token; the old ones still work; BETTONG_ADMIN_TOKEN is honoured.
    const chosen = adminSecret();
    const second = await start({ BETTONG_ADMIN_TOKEN: chosen });
    assert.equal((await new BettongClient({ url: second.url, token: secret }).listModels())[0].name, 'digits');
    assert.equal((await new BettongClient({ url: second.url, token: chosen }).whoami()).token?.name, 'admin-env');
    await stop(second.proc);
    assert.doesNotMatch(second.output(), /btg_/);
    assert.match(second.output(), /auth on/);
  });
});
