/** The audit log: who did what, when, in which workspace, and how it ended. */
import type { DB } from '../store/index.ts';

export interface AuditEntry {
  workspaceId: number | null;
  userId: number | null;
  userName: string | null;
  /** null: local mode (no token) */
  tokenName: string | null;
  /** e.g. 'model.upload', 'pipeline.deploy', 'member.add', 'token.revoke' */
  action: string;
  target: string | null;
  /** The HTTP status the action was answered with, and the error code when it was refused or failed. */
  status: number;
  error?: string | null;
  detail?: Record<string, unknown>;
  time?: number;
}

export interface AuditRecord {
  id: number;
  time: string;
  workspace: string | null;
  user: string | null;
  token: string | null;
  action: string;
  target: string | null;
  outcome: 'ok' | 'refused' | 'failed';
  status: number;
  error: string | null;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  start?: number;
  end?: number;
  action?: string;
  limit?: number;
  /** next_cursor of the previous page */
  cursor?: string;
}

const outcomeOf = (status: number) => (status < 400 ? 'ok' : status < 500 ? 'refused' : 'failed');

export class AuditLog {
  constructor(private readonly db: DB) {}

  async record(e: AuditEntry): Promise<void> {
    await this.db.insertInto('audit_log').values({
      time: e.time ?? Date.now(), workspace_id: e.workspaceId, user_id: e.userId, user_name: e.userName, token_name: e.tokenName,
      action: e.action, target: e.target, outcome: outcomeOf(e.status), status: e.status, error: e.error ?? null,
      detail: JSON.stringify(e.detail ?? {}),
    }).execute();
  }

  /** Newest first; `workspaceId` null reads the platform events (users, unscoped tokens). */
  async query(workspaceId: number | null, q: AuditQuery = {}): Promise<{ records: AuditRecord[]; next_cursor: string | null }> {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 10_000);
    let sel = this.db.selectFrom('audit_log as a').leftJoin('workspaces as w', 'w.id', 'a.workspace_id')
      .selectAll('a').select('w.name as workspace_name')
      .where('a.workspace_id', workspaceId === null ? 'is' : '=', workspaceId)
      .orderBy('a.id', 'desc').limit(limit + 1);
    if (q.start !== undefined) sel = sel.where('a.time', '>=', q.start);
    if (q.end !== undefined) sel = sel.where('a.time', '<', q.end);
    if (q.action) sel = sel.where('a.action', q.action.endsWith('.') ? 'like' : '=', q.action.endsWith('.') ? `${q.action}%` : q.action);
    if (q.cursor) sel = sel.where('a.id', '<', Number(q.cursor));
    const rows = await sel.execute();
    const page = rows.slice(0, limit);
    return {
      records: page.map((r) => ({
        id: r.id, time: new Date(Number(r.time)).toISOString(), workspace: r.workspace_name, user: r.user_name, token: r.token_name,
        action: r.action, target: r.target, outcome: r.outcome as AuditRecord['outcome'], status: r.status, error: r.error,
        detail: JSON.parse(r.detail),
      })),
      next_cursor: rows.length > limit ? String(page.at(-1)!.id) : null,
    };
  }
}
