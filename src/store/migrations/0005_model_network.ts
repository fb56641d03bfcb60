import type { Kysely } from 'kysely';

/** A custom-code model version may be allowed the network (issue #12); off unless asked at upload. */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('model_versions').addColumn('network', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
