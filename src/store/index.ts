/**
 * The data-access layer: one Kysely instance over SQLite (embedded default). Kysely
 * speaks PostgreSQL too, so a second backend is a dialect and a driver away.
 */
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect, type Migration } from 'kysely';
import type { Database } from './schema.ts';
import { checkWritableDir } from './datadir.ts';
import * as m0001 from './migrations/0001_initial.ts';
import * as m0002 from './migrations/0002_assays.ts';
import * as m0003 from './migrations/0003_log_experiments.ts';
import * as m0004 from './migrations/0004_access.ts';
import * as m0005 from './migrations/0005_log_segments.ts';
import * as m0006 from './migrations/0005_model_network.ts';
import * as m0007 from './migrations/0006_artifacts.ts';
import * as m0008 from './migrations/0007_performance.ts';

export type { Database } from './schema.ts';
export type DB = Kysely<Database>;

/** Versioned migrations, applied in name order. */
const migrations: Record<string, Migration> = {
  '0001_initial': m0001,
  '0002_assays': m0002,
  '0003_log_experiments': m0003,
  '0004_access': m0004,
  '0005_log_segments': m0005,
  '0005_model_network': m0006,
  '0006_artifacts': m0007,
  '0007_performance': m0008,
};

export const DEFAULT_WORKSPACE_ID = 1;

const connections = new WeakMap<DB, SQLite.Database>();
/** The SQLite connection under a store: for reads that stream one column, which Kysely would wrap row by row. */
export const sqliteOf = (db: DB): SQLite.Database | undefined => connections.get(db);

export async function openStore(dataDir: string): Promise<DB> {
  checkWritableDir(dataDir, 'data directory');
  const file = path.join(dataDir, 'bettong.sqlite');
  let sqlite: SQLite.Database | undefined;
  try {
    sqlite = new SQLite(file);
    // WAL: readers (log queries) never block the log writer; NORMAL sync is durable across
    // process crashes, which is the failure the inference log guards against.
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    // SQLite opens a file it may not write read-only without a word; a write rolled back finds out now.
    sqlite.exec('BEGIN IMMEDIATE');
    try {
      sqlite.exec('CREATE TABLE _bettong_write_check (x)');
    } finally {
      if (sqlite.inTransaction) sqlite.exec('ROLLBACK');
    }
  } catch (e) {
    sqlite?.close();
    throw new Error(`the database ${file} cannot be written: ${(e as Error).message}`);
  }
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  connections.set(db, sqlite);
  // Unordered: a data dir made while a later-numbered migration landed first still takes the earlier one.
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true }).migrateToLatest();
  if (error) {
    await db.destroy();
    throw error;
  }
  return db;
}
