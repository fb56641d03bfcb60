/** Workspaces: every model, pipeline, deployment, log and assay lives in exactly one. */
import { fail } from '../errors/index.ts';
import { checkName } from '../registry/index.ts';
import type { DB } from '../store/index.ts';

export interface Workspace {
  id: number;
  name: string;
  archived: boolean;
  archived_at: string | null;
  created_at: string;
}

type Row = { id: number; name: string; created_at: number; archived_at: number | null };
const iso = (t: number | null) => (t === null ? null : new Date(Number(t)).toISOString());
export const toWorkspace = (r: Row): Workspace => ({
  id: r.id, name: r.name, archived: r.archived_at !== null, archived_at: iso(r.archived_at), created_at: iso(r.created_at)!,
});

/**
 * Every request resolves its workspace: lookups are cached briefly (a query per request was
 * the largest cost on the inference path). Changes made here clear the cache at once; the TTL
 * bounds how stale another process's change can look.
 */
const CACHE_TTL_MS = 1000;

export class Workspaces {
  private cache = new Map<string, { ws: Workspace | undefined; at: number }>();

  constructor(private readonly db: DB) {}

  private async cached(key: string, load: () => Promise<Workspace | undefined>): Promise<Workspace | undefined> {
    const hit = this.cache.get(key);
    const now = Date.now();
    if (hit && now - hit.at < CACHE_TTL_MS) return hit.ws;
    const ws = await load();
    this.cache.set(key, { ws, at: now });
    return ws;
  }

  private async taken(name: string): Promise<void> {
    if (await this.db.selectFrom('workspaces').select('id').where('name', '=', name).executeTakeFirst()) {
      fail('WORKSPACE_EXISTS', `workspace '${name}' already exists`);
    }
  }

  /** A new workspace; its creator becomes its owner. */
  async create(name: string, ownerId: number): Promise<Workspace> {
    checkName('workspace', name);
    await this.taken(name);
    const ws = await this.db.transaction().execute(async (tx) => {
      const now = Date.now();
      const row = await tx.insertInto('workspaces').values({ name, created_at: now, archived_at: null }).returningAll().executeTakeFirstOrThrow();
      await tx.insertInto('members').values({ workspace_id: row.id, user_id: ownerId, role: 'owner', created_at: now }).execute();
      return toWorkspace(row);
    });
    // After the insert: a lookup between a clear and the insert would cache "no such workspace".
    this.cache.clear();
    return ws;
  }

  byName(name: string): Promise<Workspace | undefined> {
    return this.cached(`name:${name}`, async () => {
      const row = await this.db.selectFrom('workspaces').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toWorkspace(row);
    });
  }

  byId(id: number): Promise<Workspace | undefined> {
    return this.cached(`id:${id}`, async () => {
      const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
      return row && toWorkspace(row);
    });
  }

  /** Every workspace (for admins), or those a user is a member of, with the user's role. */
  async list(userId: number | 'all'): Promise<(Workspace & { role: string | null })[]> {
    let q = this.db.selectFrom('workspaces as w')
      .leftJoin('members as m', (j) => j.onRef('m.workspace_id', '=', 'w.id').on('m.user_id', '=', userId === 'all' ? -1 : userId))
      .selectAll('w').select('m.role').orderBy('w.name');
    if (userId !== 'all') q = q.where('m.user_id', 'is not', null);
    return (await q.execute()).map((r) => ({ ...toWorkspace(r), role: r.role }));
  }

  async rename(id: number, to: string): Promise<Workspace> {
    checkName('workspace', to);
    const current = await this.byId(id);
    if (current?.name !== to) await this.taken(to);
    await this.db.updateTable('workspaces').set({ name: to }).where('id', '=', id).execute();
    this.cache.clear();
    return (await this.byId(id))!;
  }

  async setArchived(id: number, archived: boolean): Promise<Workspace> {
    await this.db.updateTable('workspaces').set({ archived_at: archived ? Date.now() : null }).where('id', '=', id).execute();
    this.cache.clear();
    return (await this.byId(id))!;
  }
}
