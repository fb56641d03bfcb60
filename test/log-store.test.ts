/**
 * The inference log when its store fails (issue 10 point 7): accepted rows are kept and retried,
 * past the backlog bound readiness turns 503 and inference answers 503 LOG_STORE_UNAVAILABLE, and
 * once the store takes writes again everything accepted is written exactly once.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { call, deployPipeline, eventually, expected, oipRequest, type TestServer, testDatabase, testServer } from './helpers.ts';

/** A second, real connection to the server's database (SQLite file or PostgreSQL): what it does, the log writer sees. */
interface Side { exec(sql: string): Promise<void>; count(sql: string): Promise<number>; close(): Promise<void> }

async function sideConnection(s: TestServer): Promise<{ side: Side; refuse: string; allow: string }> {
  const url = await testDatabase(s.dataDir);
  if (!url) {
    const db = new SQLite(path.join(s.dataDir, 'bettong.sqlite'));
    return {
      side: { exec: async (q) => void db.exec(q), count: async (q) => Number((db.prepare(q).get() as { n: number }).n), close: async () => void db.close() },
      refuse: `CREATE TRIGGER refuse_log_writes BEFORE INSERT ON inference_log_columns BEGIN SELECT RAISE(ABORT, 'store refuses writes'); END`,
      allow: 'DROP TRIGGER refuse_log_writes',
    };
  }
  const c = new pg.Client(url);
  await c.connect();
  return {
    side: { exec: async (q) => void (await c.query(q)), count: async (q) => Number((await c.query(q)).rows[0].n), close: () => c.end() },
    refuse: `CREATE FUNCTION refuse_log_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'store refuses writes'; END $$;
      CREATE TRIGGER refuse_log_writes BEFORE INSERT ON inference_log_columns FOR EACH ROW EXECUTE FUNCTION refuse_log_writes()`,
    allow: 'DROP TRIGGER refuse_log_writes ON inference_log_columns',
  };
}

describe('inference log store failing', () => {
  let s: TestServer;
  let db: Awaited<ReturnType<typeof sideConnection>>;
  before(async () => {
    s = await testServer({ logs: { maxBacklogBytes: 64 * 1024, retryMs: 20 } });
    await deployPipeline(s, 'digits', ['digits_mlp']);
    db = await sideConnection(s);
  });
  after(async () => {
    await db.side.close();
    await s.close();
  });

  it('refuses inference past the backlog bound, keeps what it accepted, and recovers', async () => {
    const e = expected('digits_mlp');
    assert.equal((await call(s, 'POST', '/v2/models/digits/infer', oipRequest(e))).status, 200);
    let accepted = 1;
    await eventually(async () => (await s.client.logs('digits')).records.length === 5, 'first rows written');
    // The database refuses every column write: the segment row of the same transaction must not survive it.
    await db.side.exec(db.refuse);

    let refused: Awaited<ReturnType<typeof call>> | undefined;
    for (let i = 0; i < 500 && !refused; i++) {
      const r = await call(s, 'POST', '/v2/models/digits/infer', oipRequest(e));
      if (r.status === 200) accepted++;
      else refused = r;
      await new Promise((res) => setTimeout(res, 2));
    }
    assert.ok(refused, 'inference was never refused');
    assert.equal(refused.status, 503);
    assert.equal(refused.json.code, 'LOG_STORE_UNAVAILABLE');
    assert.match(refused.json.error, /store refuses writes/);
    assert.ok(accepted > 2, `accepted ${accepted} requests before refusing`);
    assert.equal((await call(s, 'GET', '/v2/health/ready')).status, 503);
    // Nothing half-written: every segment has its columns.
    const orphans = await db.side.count('SELECT count(*) AS n FROM inference_log_segments s WHERE NOT EXISTS (SELECT 1 FROM inference_log_columns c WHERE c.segment_id = s.id)');
    assert.equal(orphans, 0);

    await db.side.exec(db.allow);
    await eventually(async () => (await call(s, 'GET', '/v2/health/ready')).status === 200, 'ready again');
    assert.equal((await call(s, 'POST', '/v2/models/digits/infer', oipRequest(e))).status, 200);
    accepted++;
    const rows = [];
    for await (const r of s.client.iterateLogs('digits')) rows.push(r);
    assert.equal(rows.length, accepted * 5, 'every accepted row written, once');
  });
});
