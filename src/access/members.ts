/** Members: a user's role in a workspace. A workspace always keeps at least one owner. */
import { fail } from '../errors/index.ts';
import type { DB } from '../store/index.ts';
import { type Role, isRole } from './roles.ts';

export interface Member {
  user: string;
  role: Role;
  since: string;
}

export class Members {
  constructor(private readonly db: DB) {}

  async list(workspaceId: number): Promise<Member[]> {
    const rows = await this.db.selectFrom('members as m').innerJoin('users as u', 'u.id', 'm.user_id')
      .select(['u.name', 'm.role', 'm.created_at']).where('m.workspace_id', '=', workspaceId).orderBy('u.name').execute();
    return rows.map((r) => ({ user: r.name, role: r.role as Role, since: new Date(Number(r.created_at)).toISOString() }));
  }

  async roleOf(workspaceId: number, userId: number): Promise<Role | undefined> {
    const row = await this.db.selectFrom('members').select('role').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).executeTakeFirst();
    return row?.role as Role | undefined;
  }

  private async owners(workspaceId: number): Promise<number> {
    const r = await this.db.selectFrom('members').select((eb) => eb.fn.countAll().as('n'))
      .where('workspace_id', '=', workspaceId).where('role', '=', 'owner').executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Adds a member or changes their role; `previous` is the role they had. */
  async set(workspaceId: number, userId: number, userName: string, role: string): Promise<Member & { previous: Role | null }> {
    if (!isRole(role)) fail('INVALID_REQUEST', `role must be owner, editor or viewer, got '${role}'`);
    const previous = (await this.roleOf(workspaceId, userId)) ?? null;
    if (previous === 'owner' && role !== 'owner' && (await this.owners(workspaceId)) === 1) {
      fail('LAST_OWNER', `user '${userName}' is the last owner of this workspace; make another member owner first`);
    }
    const now = Date.now();
    await this.db.insertInto('members').values({ workspace_id: workspaceId, user_id: userId, role, created_at: now })
      .onConflict((oc) => oc.columns(['workspace_id', 'user_id']).doUpdateSet({ role })).execute();
    return { user: userName, role: role as Role, since: new Date(now).toISOString(), previous };
  }

  async remove(workspaceId: number, userId: number, userName: string): Promise<{ removed: string; role: Role }> {
    const role = await this.roleOf(workspaceId, userId);
    if (!role) return fail('MEMBER_NOT_FOUND', `user '${userName}' is not a member of this workspace`);
    if (role === 'owner' && (await this.owners(workspaceId)) === 1) {
      fail('LAST_OWNER', `user '${userName}' is the last owner of this workspace; make another member owner first`);
    }
    await this.db.deleteFrom('members').where('workspace_id', '=', workspaceId).where('user_id', '=', userId).execute();
    return { removed: userName, role };
  }
}
