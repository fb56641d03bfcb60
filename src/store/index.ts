/**
 * The data-access layer: one Kysely instance over SQLite (the embedded default, a file in the data
 * directory) or PostgreSQL (a `postgres://` URL: state shared by several servers). Both run the
 * same migrations; code that needs the dialect asks `isPostgres`.
 */
import path from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect, type Migration } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';
import { checkWritableDir } from './datadir.ts';
import * as m0001 from './migrations/0001_initial.ts';
import * as m0002 from './migrations/0002_assays.ts';
import * as m0003 from './migrations/0003_log_experiments.ts';
import * as m0004 from './migrations/0004_access.ts';
import * as m0005 from './migrations/0005_log_segments.ts';
import * as m0006 from './migrations/0005_model_network.ts';
import * as m0007 from './migrations/0006_artifacts.ts';
import * as m0008 from './migrations/0007_leases.ts';
import * as m0009 from './migrations/0008_performance.ts';

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
  '0007_leases': m0008,
  '0008_performance': m0009,
};

export const DEFAULT_WORKSPACE_ID = 1;

const connections = new WeakMap<DB, SQLite.Database>();
/** The SQLite connection under a store: for reads that stream one column, which Kysely would wrap row by row. */
export const sqliteOf = (db: DB): SQLite.Database | undefined => connections.get(db);

export { isPostgres } from './columns.ts';

/** A database URL this build can open: postgres:// or postgresql://. */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//i.test(url);

/**
 * Opens the store: SQLite in `dataDir` unless `databaseUrl` names a PostgreSQL database.
 * Migrations run once: on PostgreSQL Kysely's Migrator runs them in one transaction under an
 * advisory lock, so servers starting together on one database wait for the first to finish them
 * (test/postgres.test.ts).
 */
export async function openStore(dataDir: string, databaseUrl?: string): Promise<DB> {
  // Artifacts live in the data directory whatever the store.
  checkWritableDir(dataDir, 'data directory');
  if (databaseUrl) return openPostgres(databaseUrl);
  const file = path.join(dataDir, 'bettong.sqlite');
  let sqlite: SQLite.Database | undefined;
  try {
    sqlite = new SQLite(file);
    // Taken by a new file only (before its first table): the inference log's column blobs span
    // many pages, and SQLite's cost per page (WAL frame, checksum, checkpoint copy) halves with 16 KiB pages.
    sqlite.pragma('page_size = 16384');
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
  await migrate(db);
  return db;
}

// int8 (counts, sums, epoch ms) and numeric (sum of bigint) as numbers, as SQLite gives them: every
// value the schema holds is far below 2^53.
const pgTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    (oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC) && format !== 'binary' ? Number : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/** A database URL with its password hidden, for messages. */
export const redact = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

async function openPostgres(url: string): Promise<DB> {
  if (!isPostgresUrl(url)) throw new Error(`--database must be a postgres:// URL, got '${redact(url)}'`);
  const pool = new pg.Pool({ connectionString: url, types: pgTypes, max: Number(process.env.BETTONG_DATABASE_POOL ?? 10) });
  // An idle connection the server drops (restart, failover) is replaced at the next query; it must not crash the process.
  pool.on('error', (e) => console.error(`database connection lost: ${e.message}`));
  try {
    // Fails fast, with the URL, when the database is not there.
    (await pool.connect()).release();
  } catch (e) {
    await pool.end();
    throw new Error(`cannot connect to the database ${redact(url)}: ${(e as Error).message}`);
  }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db);
  return db;
}

async function migrate(db: DB): Promise<void> {
  // Unordered: a data dir made while a later-numbered migration landed first still takes the earlier one.
  const { error } = await new Migrator({ db, provider: { getMigrations: async () => migrations }, allowUnorderedMigrations: true }).migrateToLatest();
  if (error) {
    await db.destroy();
    throw error;
  }
}
