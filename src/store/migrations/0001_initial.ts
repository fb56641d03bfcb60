import { type Kysely, sql } from 'kysely';
import { columnTypes } from '../columns.ts';

/** Every object belongs to a workspace from the first table on. */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.createTable('workspaces')
    .addColumn('id', 'integer', t.id)
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('models')
    .addColumn('id', 'integer', t.id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('models_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema.createTable('model_versions')
    .addColumn('id', 'integer', t.id)
    .addColumn('model_id', 'integer', (c) => c.notNull().references('models.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull())
    .addColumn('size', 'bigint', (c) => c.notNull())
    .addColumn('runtime', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('model_versions_model_version', ['model_id', 'version'])
    .addUniqueConstraint('model_versions_model_sha', ['model_id', 'sha256'])
    .execute();
  await db.schema.createTable('pipelines')
    .addColumn('id', 'integer', t.id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('pipelines_workspace_name', ['workspace_id', 'name'])
    .execute();
  await db.schema.createTable('pipeline_versions')
    .addColumn('id', 'integer', t.id)
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().references('pipelines.id'))
    .addColumn('version', 'integer', (c) => c.notNull())
    .addColumn('definition', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addUniqueConstraint('pipeline_versions_pipeline_version', ['pipeline_id', 'version'])
    .execute();
  await db.schema.createTable('deployments')
    .addColumn('id', 'integer', t.id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('pipeline_id', 'integer', (c) => c.notNull().unique().references('pipelines.id'))
    .addColumn('pipeline_version_id', 'integer', (c) => c.notNull().references('pipeline_versions.id'))
    .addColumn('config', 'text', (c) => c.notNull())
    .addColumn('desired', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('inference_logs')
    .addColumn('id', 'integer', t.id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('pipeline_id', 'integer', (c) => c.notNull())
    .addColumn('pipeline_version', 'integer', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('request_id', 'text')
    .addColumn('inputs', 'text', (c) => c.notNull())
    .addColumn('outputs', 'text', (c) => c.notNull())
    .addColumn('models', 'text', (c) => c.notNull())
    .addColumn('latency_ms', t.real, (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inference_logs_pipeline_time').on('inference_logs').columns(['pipeline_id', 'time', 'id']).execute();
  await db.insertInto('workspaces' as never).values({ name: 'default', created_at: Date.now() } as never).execute();
  void sql;
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['inference_logs', 'deployments', 'pipeline_versions', 'pipelines', 'model_versions', 'models', 'workspaces']) {
    await db.schema.dropTable(t).execute();
  }
}
