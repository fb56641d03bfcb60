/**
 * Python environment builds across server restarts: a version caught `building` by a killed
 * server is built again at the next start, and the environments live in the data dir's cache,
 * so they survive with it.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT, STEP_PYTHON, call, serveEnv, eventually, tempDir, testServer } from './helpers.ts';

const BIN = path.join(ROOT, 'bin', 'bettong.mjs');

/** `bettong serve` as a child process, once it listens. */
async function serveChild(dataDir: string): Promise<{ proc: ChildProcess; url: string }> {
  // on the data dir's PostgreSQL database in PostgreSQL runs, as testServer() below will be
  const env = { ...process.env, ...(await serveEnv(dataDir)) };
  const proc = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--python', STEP_PYTHON], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not start: ${out}`)), 60_000);
    proc.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.stderr!.on('data', (c) => (out += c));
    proc.on('exit', (code) => reject(new Error(`the server exited (${code}): ${out}`)));
  });
  return { proc, url };
}

describe('Python environment builds across restarts', { skip: !fs.existsSync(STEP_PYTHON) && `no ${STEP_PYTHON} (scripts/test makes it)` }, () => {
  const children: ChildProcess[] = [];
  after(() => { for (const c of children) c.kill('SIGKILL'); });

  it('a version caught building by a killed server is built at the next start, its environment kept in the data dir', async () => {
    const dataDir = tempDir();
    fs.chmodSync(dataDir, 0o755); // the sandbox's own user (a server running as root) reads the cache inside it
    const folder = path.join(tempDir(), 'tabulated');
    fs.cpSync(path.join(ROOT, 'testdata', 'steps', 'python', 'tabulated'), folder, { recursive: true });
    fs.appendFileSync(path.join(folder, 'requirements.txt'), `# test run ${crypto.randomUUID()}\n`);
    const archive = path.join(tempDir(), 'tabulated.tar.gz');
    execFileSync('tar', ['-czf', archive, '-C', path.dirname(folder), 'tabulated']);

    const first = await serveChild(dataDir);
    children.push(first.proc);
    const r = await call(first, 'POST', '/v1/models/tabulated?runtime=python', fs.readFileSync(archive), { 'content-type': 'application/octet-stream' });
    assert.equal(r.status, 202, r.body.toString());
    assert.equal(r.json.status, 'building');
    first.proc.kill('SIGKILL');
    await new Promise((resolve) => first.proc.once('exit', resolve));

    const s = await testServer({ dataDir, customCode: { python: STEP_PYTHON } });
    try {
      const build = await eventually(async () => {
        const b = await s.client.modelBuild('tabulated', 1);
        return b.status !== 'building' && b;
      }, 'the build resumed after the restart', 300_000);
      assert.equal(build.status, 'ready', build.log);
      await s.client.createPipeline('tabulated', [{ model: 'tabulated' }]);
      await s.client.deploy('tabulated');
      assert.equal((await s.client.inferRecords('tabulated', [{ x: 2.5 }]))[0]['out.text'], '2.5');
      const envs = path.join(fs.realpathSync(dataDir), 'cache', `python-${process.platform}-${process.arch}`, 'envs');
      const built = fs.readdirSync(envs).filter((key) => fs.existsSync(path.join(envs, key, '.ready')));
      assert.equal(built.length, 1);
      assert.match(fs.readFileSync(path.join(envs, built[0], 'requirements.txt'), 'utf8'), /tabulate/);
    } finally {
      await s.close();
    }
  });
});
