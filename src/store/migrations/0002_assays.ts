import type { Kysely } from 'kysely';
import { columnTypes } from '../columns.ts';

/** Assays (drift monitoring): definitions with their baseline profile, per-window results, alert deliveries. */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.createTable('assays')
    .addColumn('id', 'integer', t.id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('profile', 'text', (c) => c.notNull())
    .addColumn('baseline_sample', t.blob)
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('next_window', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('assays_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema.createTable('assay_results')
    .addColumn('id', 'integer', t.id)
    .addColumn('assay_id', 'integer', (c) => c.notNull().references('assays.id').onDelete('cascade'))
    .addColumn('window_index', 'integer', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('score', t.real)
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('assay_results_assay_window', ['assay_id', 'window_start'])
    .execute();
  await db.schema.createTable('assay_alerts')
    .addColumn('id', 'integer', t.id)
    .addColumn('assay_id', 'integer', (c) => c.notNull().references('assays.id').onDelete('cascade'))
    .addColumn('result_id', 'integer', (c) => c.notNull().references('assay_results.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('assay_alerts_status').on('assay_alerts').columns(['status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['assay_alerts', 'assay_results', 'assays']) await db.schema.dropTable(t).execute();
}
