/**
 * A data directory the server cannot write: start refuses it in one line, and an upload whose
 * artifact or database write fails answers `{error, code}` and leaves no artifact file behind.
 * Tests run as root, where permission bits stop nothing: a path that is a file, an immutable
 * file or directory (chattr +i, where the container allows it) and a failing database trigger
 * stand in for a read-only disk.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sqliteOf } from '../src/store/index.ts';
import { ROOT, SQLITE_ONLY, type TestServer, call, modelBytes, tempDir, testServer } from './helpers.ts';

const BIN = path.join(ROOT, 'bin', 'bettong.mjs');

/** Sets or clears the immutable attribute; false where the container does not allow it. */
function immutable(p: string, on: boolean): boolean {
  try {
    execFileSync('chattr', [on ? '+i' : '-i', p], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const chattrWorks = (() => {
  const d = tempDir();
  const ok = immutable(d, true);
  if (ok) immutable(d, false);
  return ok;
})();
const NO_CHATTR = chattrWorks ? false : 'chattr +i is not allowed in this container';

/** Every file under `dir`, relative. */
const filesUnder = (dir: string): string[] => (fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()) : []);

async function refusedStart(dataDir: string, message: RegExp) {
  await assert.rejects(testServer({ dataDir }), (e: Error) => {
    assert.match(e.message, message);
    return true;
  });
}

describe('a data directory the server cannot write', () => {
  it('is refused at start when the data directory is a file (issue 10.7)', async () => {
    const file = path.join(tempDir(), 'data');
    fs.writeFileSync(file, 'not a directory');
    await refusedStart(file, /^data directory .*\/data is not a directory$/);
    // The command line says it in one line and exits non-zero.
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const proc = spawn(process.execPath, [BIN, 'serve', '--data-dir', file, '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      proc.stderr!.on('data', (c) => (stderr += c));
      const timer = setTimeout(() => proc.kill('SIGKILL'), 60_000);
      proc.on('exit', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
    });
    assert.notEqual(r.code, 0);
    assert.equal(r.stderr.trim(), `error: data directory ${file} is not a directory`);
  });

  it('is refused at start when the data directory, its database or its artifact directory is read-only', { skip: SQLITE_ONLY || NO_CHATTR }, async () => {
    const dataDir = tempDir();
    await (await testServer({ dataDir })).close();
    for (const [target, message] of [
      [dataDir, /^data directory .* is not writable: EPERM/],
      [path.join(dataDir, 'bettong.sqlite'), /^the database .*bettong\.sqlite cannot be written: attempt to write a readonly database$/],
      [path.join(dataDir, 'artifacts'), /^artifact directory .*artifacts is not writable: EPERM/],
    ] as const) {
      assert.ok(immutable(target, true));
      try {
        await refusedStart(dataDir, message);
      } finally {
        immutable(target, false);
      }
    }
    // Writable again: it starts.
    await (await testServer({ dataDir })).close();
  });
});

describe('uploads whose writes fail', () => {
  let s: TestServer;
  let artifacts: string;
  before(async () => {
    s = await testServer();
    artifacts = path.join(s.dataDir, 'artifacts');
  });
  after(() => s.close());

  const upload = (name: string, fixture: string) => call(s, 'POST', `/v1/models/${name}`, modelBytes(fixture), { 'content-type': 'application/octet-stream' });
  const listed = async () => (await call(s, 'GET', '/v1/models')).json.models.map((m: { name: string }) => m.name);

  it('answers STORAGE_UNAVAILABLE when the artifact cannot be written, and leaves nothing behind', async () => {
    const shards = path.join(artifacts, 'sha256');
    fs.rmSync(shards, { recursive: true, force: true });
    fs.writeFileSync(shards, 'in the way');
    try {
      const r = await upload('cancer', 'breast_cancer_logreg');
      assert.equal(r.status, 503, r.body.toString());
      assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error']);
      assert.equal(r.json.code, 'STORAGE_UNAVAILABLE');
      assert.match(r.json.error, /could not store the artifact/);
    } finally {
      fs.rmSync(shards);
    }
    assert.deepEqual(filesUnder(artifacts), []);
    assert.deepEqual(await listed(), []);
    // The server keeps serving, and the same upload works once the disk does.
    assert.equal((await upload('cancer', 'breast_cancer_logreg')).status, 201);
  });

  it('answers STORAGE_UNAVAILABLE when the artifact directory turns read-only', { skip: NO_CHATTR }, async () => {
    const shards = path.join(artifacts, 'sha256');
    assert.ok(immutable(shards, true));
    try {
      const r = await upload('diabetes', 'diabetes_gbr');
      assert.equal(r.status, 503, r.body.toString());
      assert.equal(r.json.code, 'STORAGE_UNAVAILABLE');
    } finally {
      immutable(shards, false);
    }
    assert.ok(!(await listed()).includes('diabetes'));
    assert.equal(filesUnder(artifacts).length, 1);
  });

  it('removes the artifact it wrote when the database refuses the version', { skip: SQLITE_ONLY }, async () => {
    const before = filesUnder(artifacts);
    // On the server's own connection, as a failing disk under the database would.
    const sqlite = sqliteOf(s.platform.db)!;
    sqlite.exec("CREATE TEMP TRIGGER refuse_versions BEFORE INSERT ON main.model_versions BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    try {
      const r = await upload('digits', 'digits_mlp');
      assert.ok(r.status >= 500, r.body.toString());
      assert.deepEqual(Object.keys(r.json).sort(), ['code', 'error']);
    } finally {
      sqlite.exec('DROP TRIGGER temp.refuse_versions');
    }
    assert.deepEqual(filesUnder(artifacts), before, 'no artifact file left behind');
    assert.ok(!(await listed()).includes('digits'));
    // Content another version holds is never removed: the same bytes under a second name.
    sqlite.exec("CREATE TEMP TRIGGER refuse_versions BEFORE INSERT ON main.model_versions BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END");
    try {
      assert.ok((await upload('cancer-again', 'breast_cancer_logreg')).status >= 500);
    } finally {
      sqlite.exec('DROP TRIGGER temp.refuse_versions');
    }
    assert.deepEqual(filesUnder(artifacts), before);
    assert.equal((await call(s, 'GET', '/v1/models/cancer/versions/1/artifact')).status, 200);
  });
});
