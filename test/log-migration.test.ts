/**
 * Data dirs from before the columnar log (migration 0005): their logged rows are moved into
 * segments and read back as they always were, through paging, filters, export and compare.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect } from 'kysely';
import * as m0001 from '../src/store/migrations/0001_initial.ts';
import * as m0002 from '../src/store/migrations/0002_assays.ts';
import * as m0003 from '../src/store/migrations/0003_log_experiments.ts';
import * as m0004 from '../src/store/migrations/0004_access.ts';
import { SQLITE_ONLY, tempDir, testServer } from './helpers.ts';

const old = (i: number) => ({
  workspace_id: 1, pipeline_id: 1, pipeline_version: 1 + Math.floor(i / 3), time: 1_700_000_000_000 + i * 1000, request_id: `r${i}`,
  inputs: JSON.stringify({ x: [i, i + 0.5], name: `row ${i}` }), outputs: JSON.stringify({ y: i * 2 }),
  models: JSON.stringify([{ name: 'm', version: 1 + (i % 2) }]), latency_ms: 1.5, metadata: JSON.stringify({ customer: 'acme' }),
  shadow: i === 4 ? JSON.stringify({ challenger: { y: 9 } }) : '{}',
  anomalies: i % 4 === 0 ? '["too_big"]' : '[]', anomaly_count: i % 4 === 0 ? 1 : 0,
});

// Old data dirs are SQLite files: PostgreSQL databases start on the segment layout.
describe('inference logs from the row layout', { skip: SQLITE_ONLY }, () => {
  it('migrates old rows into segments that read back the same', async () => {
    const dataDir = tempDir();
    const sqlite = new SQLite(path.join(dataDir, 'bettong.sqlite'));
    const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
    const migrations: Record<string, Migration> = { '0001_initial': m0001, '0002_assays': m0002, '0003_log_experiments': m0003, '0004_access': m0004 };
    const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations } }).migrateToLatest();
    assert.ifError(error);
    await db.insertInto('pipelines').values({ workspace_id: 1, name: 'old', created_at: 0 }).execute();
    await db.insertInto('inference_logs').values(Array.from({ length: 8 }, (_, i) => old(i))).execute();
    await db.destroy();

    const s = await testServer({ dataDir });
    try {
      const page = await s.client.logs('old', { limit: 3 });
      assert.deepEqual(page.records[0], {
        time: 1_700_000_007_000, 'in.x': [7, 7.5], 'in.name': 'row 7', 'out.y': 14, 'anomaly.count': 0,
        'metadata.pipeline_version': 3, 'metadata.models': [{ name: 'm', version: 2 }], 'metadata.latency_ms': 1.5,
        'metadata.request_id': 'r7', 'metadata.customer': 'acme',
      });
      const all = [];
      for await (const r of s.client.iterateLogs('old', { start: 0, pageSize: 3 })) all.push(r);
      assert.deepEqual(all.map((r) => r['out.y']), [0, 2, 4, 6, 8, 10, 12, 14]);
      assert.equal(all[4]['shadow.challenger.y'], 9);
      const broken = await s.client.logs('old', { anomaly: true });
      assert.deepEqual(broken.records.map((r) => r['metadata.request_id']), ['r4', 'r0']);
      assert.equal(broken.records[0]['anomaly.too_big'], true);
      const { groups } = await s.client.compare('old');
      assert.deepEqual(groups.map((g) => [g.role, g.models, g.rows]).sort(), [['answer', 'm:1', 4], ['answer', 'm:2', 4], ['shadow', 'challenger', 1]]);
    } finally {
      await s.close();
    }
  });
});
