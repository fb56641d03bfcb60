import type { Kysely } from 'kysely';

/**
 * Custom code (issue #12): a model version may be allowed the network (off unless asked at
 * upload); a Python model with requirements.txt is `building` its environment, then `ready` or
 * `failed`, with the build log.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('model_versions').addColumn('network', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('model_versions').addColumn('status', 'text', (c) => c.notNull().defaultTo('ready')).execute();
  await db.schema.alterTable('model_versions').addColumn('build_log', 'text').execute();
}
