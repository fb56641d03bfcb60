/**
 * Custom code runs in sandboxed worker processes: escape attempts by a JavaScript or Python step (read the
 * database, another workspace's artifact, /proc/1/environ; write the data dir; connect to the
 * server and outside; fork-bomb; allocate past its memory; burn CPU) each fail the request with a
 * clear error, and the server keeps serving. Without a sandbox, custom code is refused.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { STEP_PYTHON, TEST_DATABASE_URL, call, modelBytes, type TestServer, testServer } from './helpers.ts';

/** A JavaScript step y = x whose predict first runs `attempt` (for rows with x > 0). */
const jsStep = (attempt: string) => `
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

/** The same as a Python model.py. */
const pyStep = (attempt: string) => `
import os, socket, subprocess, sys
signature = {
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1]}],
    "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1]}],
}
def connect(port, host):
    socket.create_connection((host, port), timeout=3).close()
def predict(df):
    if df["x"].iloc[0] > 0:
${`${attempt.trim()}\npass`.split('\n').map((l) => `        ${l}`).join('\n')}
    return {"y": df["x"].to_numpy()}
`;

const SECRET = `s3cret-${crypto.randomUUID()}`;

interface Lang {
  runtime: 'js' | 'python';
  step: (attempt: string) => string;
  /** Each escape attempt in this language. */
  attempts: Record<string, string>;
  /** Where the step's own artifact is mounted. */
  self: string;
  memoryMb: number;
}

const js: Lang = {
  runtime: 'js', step: jsStep, self: '/step/module.mjs', memoryMb: 256,
  attempts: {
    read: 'fs.readFileSync(FILE);',
    write: "fs.writeFileSync(FILE, 'x');",
    connect: 'await connect(PORT, HOST);',
    env: "throw new Error(`uid=${process.getuid()} env=${JSON.stringify(process.env)} root=${fs.readdirSync('/')}`);",
    fork: `
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
      if (failure) throw failure;`,
    hog: 'const a = []; for (;;) a.push(new Array(1e6).fill(Math.random()));',
    spin: 'for (;;) {}',
    busy: 'let s = 0; const end = process.cpuUsage().user + 400_000; while (process.cpuUsage().user < end) for (let i = 0; i < 1e6; i++) s += i;',
    crash: "console.error('giving up now'); process.exit(3);",
  },
};

const python: Lang = {
  runtime: 'python', step: pyStep, self: '/step/artifact', memoryMb: 512,
  attempts: {
    read: 'open(FILE, "rb").read()',
    write: 'open(FILE, "w").write("x")',
    connect: 'connect(PORT, HOST)',
    env: 'raise RuntimeError(f"uid={os.getuid()} env={dict(os.environ)} root={os.listdir(\'/\')}")',
    fork: `
kids = []
try:
    for i in range(2000):
        kids.append(subprocess.Popen(["/bin/sleep", "60"]))
finally:
    for k in kids:
        k.kill()`,
    hog: `
a = []
while True:
    a.append(bytearray(64 * 1024 * 1024))`,
    spin: `
while True:
    pass`,
    busy: `
import time
end = time.process_time() + 0.4
while time.process_time() < end:
    sum(range(10000))`,
    crash: 'print("giving up now", file=sys.stderr, flush=True)\nos._exit(3)',
  },
};

const fill = (code: string, vars: Record<string, string | number>) =>
  Object.entries(vars).reduce((c, [k, v]) => c.replaceAll(k, typeof v === 'string' ? JSON.stringify(v) : String(v)), code);

for (const lang of [js, python]) {
  const skipPython = lang.runtime === 'python' && !fs.existsSync(STEP_PYTHON) && `no ${STEP_PYTHON} (scripts/test makes it)`;

  describe(`sandboxed ${lang.runtime === 'js' ? 'JavaScript' : 'Python'} steps`, { skip: skipPython }, () => {
    let s: TestServer;
    const infer = (pipeline: string, x: number) => call(s, 'POST', `/v1/pipelines/${pipeline}/infer`, [{ x }]);
    /** The server still answers: a healthy pipeline infers. */
    const serving = async () => {
      const r = await infer('healthy', 0);
      assert.equal(r.status, 200, r.body.toString());
    };
    const deployStep = async (name: string, attempt: string, config: Record<string, number> = {}) => {
      await s.client.uploadModel(name, Buffer.from(lang.step(attempt)), { runtime: lang.runtime });
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
    const { attempts: a } = lang;
    const NO_FILE = /ENOENT|No such file/;
    const READ_ONLY = /EROFS|EACCES|EPERM|Read-only|Permission denied/;

    before(async () => {
      process.env.BETTONG_SANDBOX_TEST_SECRET = SECRET;
      s = await testServer({ customCode: { python: STEP_PYTHON } });
      await deployStep('healthy', '');
    });
    after(async () => {
      delete process.env.BETTONG_SANDBOX_TEST_SECRET;
      await s.close();
    });

    it('a step cannot read the database', async () => {
      if (TEST_DATABASE_URL) {
        // On PostgreSQL the database is a port, not a file in the data dir.
        const port = new URL(TEST_DATABASE_URL).port;
        await escape('connect_db', fill(a.connect, { PORT: port, HOST: '127.0.0.1' }), 'STEP_FAILED', /ECONNREFUSED|Connection refused/);
        return;
      }
      const db = fs.readdirSync(s.dataDir).find((f) => f.startsWith('bettong.'))!;
      await escape('read_db', fill(a.read, { FILE: path.join(s.dataDir, db) }), 'STEP_FAILED', NO_FILE);
    });

    it("a step cannot read another workspace's artifact", async () => {
      await s.client.createWorkspace('other');
      const bytes = modelBytes('breast_cancer_logreg');
      await s.client.inWorkspace('other').uploadModel('secret_model', bytes);
      const digest = crypto.createHash('sha256').update(bytes).digest('hex');
      const file = path.join(s.dataDir, 'artifacts', 'sha256', digest.slice(0, 2), digest);
      assert.ok(fs.existsSync(file), 'the artifact is where the store keeps it');
      await escape('read_artifact', fill(a.read, { FILE: file }), 'STEP_FAILED', NO_FILE);
    });

    it('a step cannot write to the data dir, the system or its own artifact', async () => {
      const target = path.join(s.dataDir, 'pwned');
      await escape('write_data', fill(a.write, { FILE: target }), 'STEP_FAILED', NO_FILE);
      assert.equal(fs.existsSync(target), false);
      await escape('write_usr', fill(a.write, { FILE: '/usr/pwned' }), 'STEP_FAILED', READ_ONLY);
      await escape('write_self', fill(a.write, { FILE: lang.self }), 'STEP_FAILED', READ_ONLY);
    });

    it("a step cannot connect to the server's port or to an outside address", async () => {
      await escape('connect_server', fill(a.connect, { PORT: s.port, HOST: '127.0.0.1' }), 'STEP_FAILED', /ECONNREFUSED|Connection refused/);
      // TEST-NET-1: never routed; without a network namespace route the attempt fails at once.
      await escape('connect_outside', fill(a.connect, { PORT: 80, HOST: '192.0.2.1' }), 'STEP_FAILED', /ENETUNREACH|EHOSTUNREACH|unreachable|timed out/i);
    });

    it('a step cannot read /proc/1/environ, and sees none of the server environment', async () => {
      await escape('read_environ', fill(a.read, { FILE: '/proc/1/environ' }), 'STEP_FAILED', NO_FILE);
      const r = await escape('show_env', a.env, 'STEP_FAILED', /uid=\d+ env=/);
      assert.ok(!r.json.error.includes(SECRET), 'the server environment does not leak into the step');
      assert.ok(!r.json.error.includes('uid=0 '), 'the step does not run as root');
      assert.ok(!r.json.error.includes(s.dataDir), 'the data dir is not in sight');
    });

    it('a model uploaded with network: true may connect, and the audit log records it', async () => {
      await s.client.uploadModel('networked', Buffer.from(lang.step(fill(a.connect, { PORT: s.port, HOST: '127.0.0.1' }))), { runtime: lang.runtime, network: true });
      await s.client.createPipeline('networked', [{ model: 'networked' }]);
      await s.client.deploy('networked');
      const r = await infer('networked', 1);
      assert.equal(r.status, 200, r.body.toString());
      const { records } = await s.client.audit({ action: 'model.upload' });
      const upload = records.find((x) => x.target?.includes('networked'));
      assert.equal(upload?.detail.network, true, JSON.stringify(records));
      assert.equal((await s.client.getModel('networked')).versions[0].network, true);
    });

    it('a fork bomb is bounded by the process limit', { skip: process.getuid?.() !== 0 && 'the per-sandbox process limit needs a user of its own (root)' }, async () => {
      await escape('fork_bomb', a.fork, 'STEP_FAILED', /EAGAIN|Resource temporarily unavailable/);
    });

    it('a step that allocates past its memory limit fails with STEP_OUT_OF_MEMORY and its worker is restarted', async () => {
      const r = await escape('hog', a.hog, 'STEP_OUT_OF_MEMORY', /out of memory/, { memory_mb: lang.memoryMb });
      assert.equal(r.status, 500);
      const again = await infer('hog', 0);
      assert.equal(again.status, 200, again.body.toString());
    });

    it('a step that burns CPU past its CPU-time limit fails with STEP_TIMEOUT', async () => {
      await escape('spin', a.spin, 'STEP_TIMEOUT', /CPU-time limit \(1 s\)/, { cpu_seconds: 1, step_timeout_ms: 20_000 });
      assert.equal((await infer('spin', 0)).status, 200);
    });

    it('the CPU-time limit is per call: a worker serving many calls within it is never stopped', async () => {
      await deployStep('busy', a.busy, { cpu_seconds: 1, step_timeout_ms: 20_000 });
      for (let i = 0; i < 5; i++) {
        const r = await infer('busy', 1); // 0.4 s of CPU each: 2 s in all, past 1 s over the worker's life
        assert.equal(r.status, 200, `call ${i + 1}: ${r.body.toString()}`);
      }
    });

    it('a crashed worker fails only its request, logs its stderr with the step name and is restarted', async () => {
      const lines: string[] = [];
      const write = process.stderr.write.bind(process.stderr);
      process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        lines.push(String(chunk));
        return (write as (...x: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof process.stderr.write;
      try {
        await escape('crasher', a.crash, 'STEP_FAILED', /stopped unexpectedly \(exit code 3\)/);
      } finally {
        process.stderr.write = write;
      }
      assert.ok(lines.some((l) => l.includes('[step crasher:1] giving up now')), lines.join(''));
      const ok = await infer('crasher', 0);
      assert.equal(ok.status, 200, ok.body.toString());
    });
  });
}

describe('without a sandbox', () => {
  const module = Buffer.from(jsStep(''));

  it('refuses custom code, saying what to install; ONNX models still work', async () => {
    const s = await testServer({ customCode: { bwrap: '/nonexistent/bwrap' } });
    try {
      const r = await call(s, 'POST', '/v1/models/step?runtime=js', module, { 'content-type': 'application/octet-stream' });
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
      await s.client.uploadModel('step', module, { runtime: 'js' });
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
