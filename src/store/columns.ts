/**
 * Column types the migrations write once for both dialects: SQLite's names where PostgreSQL spells
 * them differently (an identity key, bytea, double precision for SQLite's 8-byte real).
 */
import { type ColumnDefinitionBuilder, type Kysely, PostgresAdapter } from 'kysely';

/** True when the store is PostgreSQL. */
export const isPostgres = (db: Kysely<any>): boolean => db.getExecutor().adapter instanceof PostgresAdapter;

export function columnTypes(db: Kysely<unknown>) {
  const pg = isPostgres(db);
  return {
    /** An integer key the database assigns. */
    id: (c: ColumnDefinitionBuilder) => (pg ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()),
    blob: pg ? 'bytea' : 'blob',
    real: pg ? 'double precision' : 'real',
  } as const;
}
