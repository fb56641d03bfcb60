/**
 * Custom code runs in sandboxed worker processes: escape attempts by a JavaScript step (read the
 * database, another workspace's artifact, /proc/1/environ; write the data dir; connect to the
 * server and outside; fork-bomb; allocate past its memory; burn CPU) each fail the request with a
 * clear error, and the server keeps serving. Without a sandbox, custom code is refused.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { call, modelBytes, type TestServer, testServer } from './helpers.ts';

/** A step y = x whose predict first runs `attempt` (for rows with x > 0). */
const step = (attempt: string) => `
import fs from 'node:fs';
import net from 'node:net';
import cp from 'node:child_process';
export const signature = {
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }],
};
const connect = (port, host) => new Promise((ok, no) => {
  const c = net.connect(port, host);
  c.on('connect', () => { c.destroy(); ok(); });
  c.on('error', no);
  setTimeout(() => no(new Error('connect timed out')), 3000);
});
export async function predict({ x }) {
  if (x[0] > 0) { ${attempt} }
  return { y: x };
}
`;

const SECRET = `s3cret-${crypto.randomUUID()}`;

describe('sandboxed custom code', () => {
  let s: TestServer;
  const infer = (pipeline: string, x: number) => call(s, 'POST', `/v1/pipelines/${pipeline}/infer`, [{ x }]);
  /** The server still answers: a healthy pipeline infers. */
  const serving = async () => {
    const r = await infer('healthy', 0);
    assert.equal(r.status, 200, r.body.toString());
  };
  const deployStep = async (name: string, attempt: string, config: Record<string, number> = {}) => {
    await s.client.uploadModel(name, Buffer.from(step(attempt)), { runtime: 'js' });
    await s.client.createPipeline(name, [{ model: name }]);
    await s.client.deploy(name, config);
  };
  const escape = async (name: string, attempt: string, code: string, why: RegExp, config: Record<string, number> = {}) => {
    await deployStep(name, attempt, config);
    const r = await infer(name, 1);
    assert.equal(r.json?.code, code, r.body.toString());
    assert.match(r.json.error, why);
    await serving();
    return r;
  };

  before(async () => {
    process.env.BETTONG_SANDBOX_TEST_SECRET = SECRET;
    s = await testServer();
    await deployStep('healthy', '');
  });
  after(async () => {
    delete process.env.BETTONG_SANDBOX_TEST_SECRET;
    await s.close();
  });

  it('a step cannot read the database', async () => {
    const db = fs.readdirSync(s.dataDir).find((f) => f.startsWith('bettong.'))!;
    await escape('read_db', `fs.readFileSync(${JSON.stringify(path.join(s.dataDir, db))});`, 'STEP_FAILED', /ENOENT/);
  });

  it("a step cannot read another workspace's artifact", async () => {
    await s.client.createWorkspace('other');
    const bytes = modelBytes('breast_cancer_logreg');
    await s.client.inWorkspace('other').uploadModel('secret_model', bytes);
    const digest = crypto.createHash('sha256').update(bytes).digest('hex');
    const file = path.join(s.dataDir, 'artifacts', 'sha256', digest.slice(0, 2), digest);
    assert.ok(fs.existsSync(file), 'the artifact is where the store keeps it');
    await escape('read_artifact', `fs.readFileSync(${JSON.stringify(file)});`, 'STEP_FAILED', /ENOENT/);
  });

  it('a step cannot write to the data dir, the system or its own module', async () => {
    const target = path.join(s.dataDir, 'pwned');
    await escape('write_data', `fs.writeFileSync(${JSON.stringify(target)}, 'x');`, 'STEP_FAILED', /ENOENT/);
    assert.equal(fs.existsSync(target), false);
    await escape('write_usr', "fs.writeFileSync('/usr/pwned', 'x');", 'STEP_FAILED', /EROFS|EACCES|EPERM/);
    await escape('write_self', "fs.writeFileSync('/step/module.mjs', 'x');", 'STEP_FAILED', /EROFS|EACCES|EPERM/);
  });

  it("a step cannot connect to the server's port or to an outside address", async () => {
    await escape('connect_server', `await connect(${s.port}, '127.0.0.1');`, 'STEP_FAILED', /ECONNREFUSED/);
    // TEST-NET-1: never routed; with no network namespace route the attempt fails at once.
    await escape('connect_outside', "await connect(80, '192.0.2.1');", 'STEP_FAILED', /ENETUNREACH|EHOSTUNREACH|timed out/);
  });

  it('a step cannot read /proc/1/environ, and sees none of the server environment', async () => {
    await escape('read_environ', "fs.readFileSync('/proc/1/environ');", 'STEP_FAILED', /ENOENT/);
    await escape('show_env', "throw new Error(`uid=${process.getuid()} env=${JSON.stringify(process.env)} root=${fs.readdirSync('/')}`);",
      'STEP_FAILED', /uid=\d+ env=/);
    const r = await infer('show_env', 1);
    assert.ok(!r.json.error.includes(SECRET), 'the server environment does not leak into the step');
    assert.ok(!r.json.error.includes('uid=0 '), 'the step does not run as root');
    assert.ok(!r.json.error.includes(s.dataDir), 'the data dir is not in sight');
  });

  it('a fork bomb is bounded by the process limit', { skip: process.getuid?.() !== 0 && 'the per-sandbox process limit needs a user of its own (root)' }, async () => {
    await escape('fork_bomb', `
      const kids = []; let failure;
      for (let i = 0; i < 2000 && !failure; i++) {
        try {
          const c = cp.spawn('/bin/sleep', ['60'], { stdio: 'ignore' });
          c.on('error', (e) => { failure ??= e; });
          kids.push(c);
        } catch (e) { failure = e; }
        await new Promise((r) => setImmediate(r));
      }
      for (const k of kids) k.kill('SIGKILL');
      if (failure) throw failure;`, 'STEP_FAILED', /EAGAIN/);
  });

  it('a step that allocates past its memory limit fails with STEP_OUT_OF_MEMORY and its worker is restarted', async () => {
    const r = await escape('hog', 'const a = []; for (;;) a.push(new Array(1e6).fill(Math.random()));', 'STEP_OUT_OF_MEMORY', /ran out of memory.*256 MiB/, { memory_mb: 256 });
    assert.equal(r.status, 500);
    const again = await infer('hog', 0);
    assert.equal(again.status, 200, again.body.toString());
    await escape('buffer_hog', 'const b = []; for (;;) b.push(Buffer.alloc(64 * 1024 * 1024, 1));', 'STEP_OUT_OF_MEMORY', /out of memory/, { memory_mb: 256 });
  });

  it('a step that burns CPU past its CPU-time limit fails with STEP_TIMEOUT', async () => {
    await escape('spin', 'for (;;) {}', 'STEP_TIMEOUT', /CPU-time limit \(1 s\)/, { cpu_seconds: 1, step_timeout_ms: 20_000 });
    assert.equal((await infer('spin', 0)).status, 200);
  });

  it('a crashed worker fails only its request, logs its stderr with the step name and is restarted', async () => {
    const lines: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      lines.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof process.stderr.write;
    try {
      await escape('crasher', "console.error('giving up now'); process.exit(3);", 'STEP_FAILED', /stopped unexpectedly \(exit code 3\)/);
    } finally {
      process.stderr.write = write;
    }
    assert.ok(lines.some((l) => l.includes('[step crasher:1] giving up now')), lines.join(''));
    const ok = await infer('crasher', 0);
    assert.equal(ok.status, 200, ok.body.toString());
  });
});

describe('without a sandbox', () => {
  const js = Buffer.from(step(''));

  it('refuses custom code, saying what to install; ONNX models still work', async () => {
    const s = await testServer({ customCode: { bwrap: '/nonexistent/bwrap' } });
    try {
      const r = await call(s, 'POST', '/v1/models/step?runtime=js', js, { 'content-type': 'application/octet-stream' });
      assert.equal(r.status, 503);
      assert.equal(r.json.code, 'SANDBOX_UNAVAILABLE');
      assert.match(r.json.error, /apt-get install bubblewrap/);
      assert.match(r.json.error, /--unsandboxed-custom-code/);
      assert.equal((await call(s, 'POST', '/v1/models/logreg', modelBytes('breast_cancer_logreg'), { 'content-type': 'application/octet-stream' })).status, 201);
    } finally {
      await s.close();
    }
  });

  it('runs it in a plain worker process when started with --unsandboxed-custom-code', async () => {
    const s = await testServer({ customCode: { bwrap: '/nonexistent/bwrap', unsandboxed: true } });
    try {
      await s.client.uploadModel('step', js, { runtime: 'js' });
      await s.client.createPipeline('p', [{ model: 'step' }]);
      await s.client.deploy('p');
      const r = await call(s, 'POST', '/v1/pipelines/p/infer', [{ x: 0 }]);
      assert.equal(r.status, 200, r.body.toString());
      assert.equal(r.json[0]['out.y'], 0);
    } finally {
      await s.close();
    }
  });
});
