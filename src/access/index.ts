/**
 * Access: who may do what, where. Users act through API tokens; a token may be limited to one
 * workspace, to inference, and in time. A member's role in a workspace grants permissions
 * (roles.ts); platform admins have an owner's rights in every workspace and manage users.
 *
 * Transport-neutral: through the Authorizer (authorize.ts), REST (server/auth.ts) and gRPC
 * (server/grpc/) hand over the Authorization value, the workspace the call names and the
 * permission it declares.
 */
import { fail } from '../errors/index.ts';
import { DEFAULT_WORKSPACE_ID, type DB } from '../store/index.ts';
import { AuditLog } from './audit.ts';
import { Members } from './members.ts';
import { INFERENCE_ONLY, type Permission, ROLES, ROLE_PERMISSIONS, type Role, isRead, isWorkspacePermission } from './roles.ts';
import { type TokenGrant, type TokenInfo, Tokens } from './tokens.ts';
import { type User, Users } from './users.ts';
import { type Workspace, Workspaces } from './workspaces.ts';

export { AuditLog, type AuditEntry, type AuditQuery, type AuditRecord } from './audit.ts';
export { type AuthOptions, Authorizer, type Credentials, RateLimitedError } from './authorize.ts';
export type { Member } from './members.ts';
export { RateLimiter, type RateLimitOptions } from './ratelimit.ts';
export { ROLES, type Permission, type Role, type WorkspacePermission } from './roles.ts';
export { TOKEN_PREFIX, expiryOf, hashSecret, type TokenGrant, type TokenInfo } from './tokens.ts';
export type { User } from './users.ts';
export type { Workspace } from './workspaces.ts';

/** Who is acting: a user, through a token (null in local mode, where no token is needed). */
export interface Principal {
  user: User;
  token: TokenGrant | null;
}

/** An authorized request: the principal and, for workspace permissions, the workspace and the role held there. */
export interface Grant {
  principal: Principal;
  workspace: Workspace | null;
  role: Role | null;
}

export interface TokenRequest {
  name: string;
  /** Another user's name (admins only). */
  user?: string;
  /** Limit the token to this workspace. */
  workspace?: string;
  inference_only?: boolean;
  /** Epoch ms. */
  expires_at?: number;
}

export const ADMIN_USER = 'admin';
export const ADMIN_TOKEN_NAME = 'admin';
/** The token BETTONG_ADMIN_TOKEN stands for, kept equal to it on every start. */
export const ENV_TOKEN_NAME = 'admin-env';

const neededRole = (p: Permission) => [...ROLES].reverse().find((r) => ROLE_PERMISSIONS[r].has(p as never)) ?? 'owner';

export class AccessService {
  readonly users: Users;
  readonly workspaces: Workspaces;
  readonly members: Members;
  readonly tokens: Tokens;
  readonly audit: AuditLog;
  private local: User | undefined;

  /** `onArchive` runs after a workspace is archived (the platform undeploys its pipelines). */
  constructor(db: DB, private readonly onArchive: (workspaceId: number) => Promise<void> = async () => {}) {
    this.users = new Users(db);
    this.workspaces = new Workspaces(db);
    this.members = new Members(db);
    this.tokens = new Tokens(db);
    this.audit = new AuditLog(db);
  }

  /**
   * On the first start, creates the admin user (owner of the default workspace) and its token:
   * `adminToken` when given, else a generated secret, returned here once and never again.
   * On later starts, a given `adminToken` is made valid for the admin (replacing an earlier one).
   */
  async bootstrap(opts: { adminToken?: string } = {}): Promise<{ adminToken?: string }> {
    if (opts.adminToken !== undefined && opts.adminToken.length < 16) {
      throw new Error('BETTONG_ADMIN_TOKEN must be at least 16 characters; use a long random secret');
    }
    if ((await this.users.count()) === 0) {
      const admin = await this.users.create(ADMIN_USER, { admin: true });
      if (await this.workspaces.byId(DEFAULT_WORKSPACE_ID)) await this.members.set(DEFAULT_WORKSPACE_ID, admin.id, admin.name, 'owner');
      const { secret } = await this.tokens.create({ name: opts.adminToken ? ENV_TOKEN_NAME : ADMIN_TOKEN_NAME, userId: admin.id, secret: opts.adminToken });
      await this.audit.record({ workspaceId: null, userId: null, userName: null, tokenName: null, action: 'user.create', target: admin.name, status: 201, detail: { admin: true, bootstrap: true } });
      return opts.adminToken ? {} : { adminToken: secret };
    }
    if (opts.adminToken) await this.tokens.ensure((await this.localUser()).id, ENV_TOKEN_NAME, opts.adminToken);
    return {};
  }

  /** The first admin: who acts in local mode. */
  private async localUser(): Promise<User> {
    if (!this.local) {
      const admins = (await this.users.list()).filter((u) => u.admin).sort((a, b) => a.id - b.id);
      this.local = admins[0] ?? fail('INTERNAL', 'no admin user; the server was not bootstrapped');
    }
    return this.local;
  }

  /**
   * The principal behind an Authorization header value. Without one: the admin in local mode,
   * else UNAUTHENTICATED.
   */
  async authenticate(authorization: string | undefined, opts: { local: boolean }): Promise<Principal> {
    if (!authorization) {
      if (opts.local) return { user: await this.localUser(), token: null };
      return fail('UNAUTHENTICATED', 'this server needs an API token: send Authorization: Bearer <token> (bettong --token, BETTONG_TOKEN)');
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return fail('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    const token = await this.tokens.verify(m[1]);
    const user = await this.users.byId(token.userId);
    return user ? { user, token } : fail('UNAUTHENTICATED', 'the token is not valid (unknown or revoked)');
  }

  /**
   * The workspace a request acts in (for workspace permissions; admins: always) and the role held
   * there: the one named, else the token's own, else the default. One the user is not a member of
   * is reported as not found, exactly like one that does not exist, so names do not leak.
   */
  async resolve(principal: Principal, permission: Permission, workspaceName?: string): Promise<Grant> {
    const { user } = principal;
    const none: Grant = { principal, workspace: null, role: null };
    if (permission === 'admin' && !user.admin) return none;
    if (permission !== 'admin' && !isWorkspacePermission(permission)) return none;
    const ws = workspaceName !== undefined
      ? await this.workspaces.byName(workspaceName)
      : await this.workspaces.byId(principal.token?.workspaceId ?? DEFAULT_WORKSPACE_ID);
    const role = ws && (user.admin ? 'owner' : await this.members.roleOf(ws.id, user.id));
    if (!ws || !role) return fail('WORKSPACE_NOT_FOUND', this.notFound(workspaceName ?? ws?.name ?? 'default', workspaceName === undefined));
    return { principal, workspace: ws, role };
  }

  /** PERMISSION_DENIED unless the grant's token and role allow `permission`; WORKSPACE_ARCHIVED for changes to an archived one. */
  check(grant: Grant, permission: Permission): void {
    const { principal: { user, token }, workspace: ws, role } = grant;
    if (permission === 'public' || permission === 'authenticated') return;
    if (token?.inferenceOnly && !INFERENCE_ONLY.has(permission)) {
      fail('PERMISSION_DENIED', `token '${token.name}' is inference-only: it can call inference endpoints and nothing else`);
    }
    if (permission === 'account') return;
    if (permission === 'admin' || permission === 'metrics') {
      if (!user.admin) fail('PERMISSION_DENIED', `this needs a platform admin; user '${user.name}' is not one`);
      if (token?.workspaceId != null) fail('PERMISSION_DENIED', `token '${token.name}' is limited to one workspace; admin actions need an unscoped token`);
      return;
    }
    if (!ws || !role || !isWorkspacePermission(permission)) return fail('INTERNAL', `permission '${permission}' was not resolved to a workspace`);
    if (token?.workspaceId != null && token.workspaceId !== ws.id) {
      fail('PERMISSION_DENIED', `token '${token.name}' is limited to another workspace`);
    }
    if (!ROLE_PERMISSIONS[role].has(permission)) {
      fail('PERMISSION_DENIED', `user '${user.name}' is ${role === 'editor' ? 'an' : 'a'} ${role} in workspace '${ws.name}'; ${permission} needs ${neededRole(permission)} or higher`);
    }
    if (ws.archived && !isRead(permission) && permission !== 'workspace:write') {
      fail('WORKSPACE_ARCHIVED', `workspace '${ws.name}' is archived: it can be read but not changed or served from`);
    }
  }

  private notFound(name: string, implicit: boolean): string {
    return `workspace '${name}' not found` + (implicit ? '; choose a workspace with the Bettong-Workspace header (bettong --workspace, BETTONG_WORKSPACE)' : '');
  }

  // workspaces

  async createWorkspace(p: Principal, name: string): Promise<Workspace> {
    if (p.token?.workspaceId != null) fail('PERMISSION_DENIED', `token '${p.token.name}' is limited to one workspace; it cannot create workspaces`);
    return this.workspaces.create(name, p.user.id);
  }

  /** The workspaces a principal can act in, with its role in each (admins: every workspace). */
  async listWorkspaces(p: Principal): Promise<(Workspace & { role: string | null })[]> {
    const all = await this.workspaces.list(p.user.admin ? 'all' : p.user.id);
    const rows = p.user.admin ? all.map((w) => ({ ...w, role: w.role ?? 'admin' })) : all;
    return p.token?.workspaceId != null ? rows.filter((w) => w.id === p.token!.workspaceId) : rows;
  }

  async archiveWorkspace(ws: Workspace, archived: boolean): Promise<Workspace> {
    const out = await this.workspaces.setArchived(ws.id, archived);
    if (archived) await this.onArchive(ws.id);
    return out;
  }

  // members

  async addMember(workspaceId: number, userName: string, role: string) {
    const user = await this.users.byName(userName);
    return this.members.set(workspaceId, user.id, user.name, role);
  }

  async removeMember(workspaceId: number, userName: string) {
    const user = await this.users.byName(userName);
    return this.members.remove(workspaceId, user.id, user.name);
  }

  // tokens

  /** The user a token action is for: oneself, or (for an admin's unscoped token) anyone. */
  private async subject(p: Principal, userName: string | undefined): Promise<User> {
    if (userName === undefined || userName === p.user.name) return p.user;
    this.requireAdmin(p, "manage another user's tokens");
    return this.users.byName(userName);
  }

  private requireAdmin(p: Principal, what: string): void {
    if (!p.user.admin || p.token?.workspaceId != null) fail('PERMISSION_DENIED', `only a platform admin's unscoped token can ${what}`);
  }

  /** Makes a token; the secret is in this answer only. */
  async createToken(p: Principal, r: TokenRequest): Promise<{ token: TokenInfo; secret: string }> {
    const owner = await this.subject(p, r.user);
    const scope = p.token?.workspaceId ?? null;
    let workspaceId: number | null = scope;
    if (r.workspace !== undefined) {
      const ws = await this.workspaces.byName(r.workspace);
      const member = ws && (owner.admin || (await this.members.roleOf(ws.id, owner.id)));
      if (!ws || !member) return fail('WORKSPACE_NOT_FOUND', this.notFound(r.workspace, false));
      if (scope !== null && ws.id !== scope) fail('PERMISSION_DENIED', `token '${p.token!.name}' is limited to another workspace; it can only make tokens for its own`);
      workspaceId = ws.id;
    }
    const { id, secret } = await this.tokens.create({
      name: r.name, userId: owner.id, workspaceId, inferenceOnly: r.inference_only, expiresAt: r.expires_at ?? null,
    });
    const token = (await this.tokens.list(owner.id)).find((t) => t.id === id)!;
    return { token, secret };
  }

  async listTokens(p: Principal, userName?: string): Promise<TokenInfo[]> {
    if (userName === '*') {
      this.requireAdmin(p, "list every user's tokens");
      return this.tokens.list();
    }
    return this.tokens.list((await this.subject(p, userName)).id);
  }

  async revokeToken(p: Principal, name: string, userName?: string): Promise<{ revoked: string; user: string; workspaceId: number | null }> {
    const owner = await this.subject(p, userName);
    const { workspaceId } = await this.tokens.revoke(owner.id, name);
    return { revoked: name, user: owner.name, workspaceId };
  }
}
