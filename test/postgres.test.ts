/**
 * The PostgreSQL store (issue 14): how it is opened, migrations run once when servers start
 * together, and concurrent writes that number versions stay correct (on SQLite one connection
 * serializes them; on PostgreSQL transactions run side by side). Runs on both backends.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../src/store/index.ts';
import { TEST_DATABASE_URL, type TestServer, modelBytes, tempDir, testDatabase, testServer } from './helpers.ts';

describe('--database', () => {
  it('refuses a URL that is not postgres://, naming the option', async () => {
    await assert.rejects(openStore(tempDir(), 'mysql://db.example/bettong'), /^Error: --database must be a postgres:\/\/ URL, got 'mysql:\/\/db.example\/bettong'$/);
  });

  it('says which database it cannot reach, without its password', async () => {
    // Port 1 on loopback: nothing listens there.
    await assert.rejects(openStore(tempDir(), 'postgres://bettong:s3cret@127.0.0.1:1/bettong'), (e: Error) => {
      assert.match(e.message, /^cannot connect to the database postgres:\/\/bettong:\*\*\*@127\.0\.0\.1:1\/bettong: /);
      assert.doesNotMatch(e.message, /s3cret/);
      return true;
    });
  });

  it('migrates a fresh database once when servers start on it together', { skip: TEST_DATABASE_URL ? false : 'needs PostgreSQL (scripts/with-postgres)' }, async () => {
    const url = (await testDatabase(tempDir()))!;
    const stores = await Promise.all([1, 2, 3].map(() => openStore(tempDir(), url)));
    try {
      const { rows } = await sql<{ name: string; n: number }>`SELECT name, count(*) AS n FROM kysely_migration GROUP BY name ORDER BY name`.execute(stores[0]);
      assert.ok(rows.length >= 6, `${rows.length} migrations recorded`);
      assert.ok(rows.every((r) => Number(r.n) === 1), JSON.stringify(rows));
      const ws = await stores[2].selectFrom('workspaces').select('name').execute();
      assert.deepEqual(ws, [{ name: 'default' }], 'the default workspace is made once');
    } finally {
      await Promise.all(stores.map((s) => s.destroy()));
    }
  });
});

describe('concurrent writes that number versions', () => {
  let s: TestServer;
  before(async () => { s = await testServer(); });
  after(() => s.close());
  const fixtures = ['add_mul', 'breast_cancer_logreg', 'breast_cancer_logreg_scaled', 'diabetes_gbr', 'digits_mlp'];

  it('uploads of different artifacts under one new model name all succeed, versions 1 to n', async () => {
    const made = await Promise.all(fixtures.map((f) => s.client.uploadModel('racy', modelBytes(f))));
    assert.deepEqual(made.map((v) => v.version).sort(), [1, 2, 3, 4, 5]);
  });

  it('pipeline versions made at once of one new pipeline all succeed, versions 1 to n', async () => {
    await Promise.all(fixtures.map((f) => s.client.uploadModel(f, modelBytes(f))));
    const made = await Promise.all(fixtures.map((f) => s.client.createPipeline('racy', [{ model: f }])));
    assert.deepEqual(made.map((v) => v.version).sort(), [1, 2, 3, 4, 5]);
  });
});
