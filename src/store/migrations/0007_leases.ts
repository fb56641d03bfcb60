import type { Kysely } from 'kysely';

/**
 * Many servers on one database (issue 14): a lease names work that one server does at a time
 * (an assay's windows, an alert's delivery) and holds it until `expires_at`, so when its holder
 * dies a survivor takes the work over.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createTable('leases')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('owner', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
