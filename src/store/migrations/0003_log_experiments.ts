import type { Kysely } from 'kysely';

/** Inference logs carry shadow outputs and validation results (issue: experiments). */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('inference_logs').addColumn('shadow', 'text', (c) => c.notNull().defaultTo('{}')).execute();
  await db.schema.alterTable('inference_logs').addColumn('anomalies', 'text', (c) => c.notNull().defaultTo('[]')).execute();
  await db.schema.alterTable('inference_logs').addColumn('anomaly_count', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const c of ['shadow', 'anomalies', 'anomaly_count']) await db.schema.alterTable('inference_logs').dropColumn(c).execute();
}
