import type { Kysely } from 'kysely';
import { columnTypes } from '../columns.ts';

/** Users, workspace members with roles, API tokens (hashes only), the audit log; workspaces can be archived (issue #6). */
export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.alterTable('workspaces').addColumn('archived_at', 'bigint').execute();
  await db.schema.createTable('users')
    .addColumn('id', 'integer', t.id)
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createTable('members')
    .addColumn('workspace_id', 'integer', (c) => c.notNull().references('workspaces.id'))
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('role', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('members_pk', ['workspace_id', 'user_id'])
    .execute();
  await db.schema.createTable('tokens')
    .addColumn('id', 'integer', t.id)
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id'))
    .addColumn('name', 'text', (c) => c.notNull())
    // sha256 (hex) of the secret; the secret itself is never stored
    .addColumn('hash', 'text', (c) => c.notNull().unique())
    .addColumn('workspace_id', 'integer', (c) => c.references('workspaces.id'))
    .addColumn('inference_only', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('expires_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('last_used_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('tokens_user').on('tokens').columns(['user_id', 'name']).execute();
  await db.schema.createTable('audit_log')
    .addColumn('id', 'integer', t.id)
    .addColumn('time', 'bigint', (c) => c.notNull())
    // null: a platform event (users, tokens not scoped to a workspace)
    .addColumn('workspace_id', 'integer')
    .addColumn('user_id', 'integer')
    .addColumn('user_name', 'text')
    .addColumn('token_name', 'text')
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text')
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('status', 'integer', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('detail', 'text', (c) => c.notNull().defaultTo('{}'))
    .execute();
  await db.schema.createIndex('audit_log_workspace').on('audit_log').columns(['workspace_id', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['audit_log', 'tokens', 'members', 'users']) await db.schema.dropTable(t).execute();
  await db.schema.alterTable('workspaces').dropColumn('archived_at').execute();
}
