import type { Kysely } from 'kysely';

/**
 * Ground truth and performance monitors (issue 16): labels as uploaded (a later label for the same
 * key replaces the earlier, which stays as history with `replaced_at` set), monitors with their
 * CBPE calibration, per-window results once final, alert deliveries. Schema builder types only,
 * so the same file runs on SQLite and PostgreSQL.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const id = (c: any) => c.primaryKey().autoIncrement();
  await db.schema.createTable('feedback_labels')
    .addColumn('id', 'integer', id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id'))
    .addColumn('key', 'text', (c) => c.notNull())
    .addColumn('labels', 'text', (c) => c.notNull())
    .addColumn('received_at', 'bigint', (c) => c.notNull())
    .addColumn('replaced_at', 'bigint')
    .execute();
  await db.schema.createIndex('feedback_labels_key').on('feedback_labels').columns(['pipeline_id', 'key']).execute();
  await db.schema.createTable('performance_monitors')
    .addColumn('id', 'integer', id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('calibration', 'text')
    .addColumn('state', 'text', (c) => c.notNull())
    .addColumn('next_window', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('performance_monitors_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema.createTable('performance_results')
    .addColumn('id', 'integer', id)
    .addColumn('monitor_id', 'integer', (c) => c.notNull().references('performance_monitors.id').onDelete('cascade'))
    .addColumn('window_index', 'integer', (c) => c.notNull())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('window_end', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .addColumn('labelled', 'integer', (c) => c.notNull())
    .addColumn('value', 'double precision')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('result', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('performance_results_monitor_window', ['monitor_id', 'window_start'])
    .execute();
  await db.schema.createTable('performance_alerts')
    .addColumn('id', 'integer', id)
    .addColumn('monitor_id', 'integer', (c) => c.notNull().references('performance_monitors.id').onDelete('cascade'))
    .addColumn('result_id', 'integer', (c) => c.notNull().references('performance_results.id').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull())
    .addColumn('http_status', 'integer')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('performance_alerts_status').on('performance_alerts').columns(['status']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['performance_alerts', 'performance_results', 'performance_monitors', 'feedback_labels']) await db.schema.dropTable(t).execute();
}
