/**
 * Serializing read-then-write transactions (get or make a parent row, then number the next
 * version) on one named thing. SQLite runs one transaction at a time on its one connection; on
 * PostgreSQL transactions run side by side, on several servers too, so the transaction first
 * takes an advisory lock on the name, held until it commits or rolls back. READ COMMITTED then
 * shows it what the previous holder committed.
 */
import { type Kysely, sql } from 'kysely';
import { isPostgres } from './columns.ts';

export async function lockName(tx: Kysely<any>, name: string): Promise<void> {
  if (isPostgres(tx)) await sql`SELECT pg_advisory_xact_lock(hashtext(${name}))`.execute(tx);
}
