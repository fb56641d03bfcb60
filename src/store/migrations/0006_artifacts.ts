import { type Kysely, PostgresAdapter } from 'kysely';

/**
 * Artifacts in the database (issue #14): the store every server shares when no bucket is given,
 * one row per sha256. The bytes are a blob on SQLite and a bytea on PostgreSQL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const binary = db.getExecutor().adapter instanceof PostgresAdapter ? 'bytea' : 'blob';
  await db.schema.createTable('artifacts')
    .addColumn('sha256', 'text', (c) => c.primaryKey())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('bytes', binary, (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('artifacts').execute();
}
