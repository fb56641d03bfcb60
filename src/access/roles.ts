/**
 * Roles and the permissions they grant. A route declares the one permission it needs; this
 * table is the only place that says who has it.
 */

export const ROLES = ['owner', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** Permissions that act inside one workspace (the request's current workspace). */
export type WorkspacePermission =
  | 'workspace:read' | 'workspace:write'
  | 'model:read' | 'model:write'
  | 'pipeline:read' | 'pipeline:write'
  | 'deployment:write'
  | 'inference:read' | 'infer'
  | 'logs:read'
  | 'assay:read' | 'assay:write'
  | 'member:read' | 'member:write'
  | 'audit:read';

/**
 * What a route needs. Besides the workspace permissions: `public` (no token: health probes),
 * `authenticated` (any valid token, inference-only included), `account` (a full token: the
 * caller's own workspaces and tokens), `admin` (a platform admin's unscoped token: users),
 * `metrics` (the platform-wide Prometheus endpoint: a platform admin's unscoped token, as for
 * `admin`; a scraper without a token uses the loopback-only --metrics-port instead).
 */
export type Permission = 'public' | 'authenticated' | 'account' | 'admin' | 'metrics' | WorkspacePermission;

const VIEWER: WorkspacePermission[] = ['workspace:read', 'model:read', 'pipeline:read', 'inference:read', 'logs:read', 'assay:read', 'member:read'];
const EDITOR: WorkspacePermission[] = [...VIEWER, 'model:write', 'pipeline:write', 'deployment:write', 'infer', 'assay:write'];
const OWNER: WorkspacePermission[] = [...EDITOR, 'member:write', 'audit:read', 'workspace:write'];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<WorkspacePermission>> = {
  viewer: new Set(VIEWER),
  editor: new Set(EDITOR),
  owner: new Set(OWNER),
};

/** All an inference-only token can ever do (within what its user's role allows). */
export const INFERENCE_ONLY: ReadonlySet<Permission> = new Set<Permission>(['authenticated', 'inference:read', 'infer']);

export const isWorkspacePermission = (p: Permission): p is WorkspacePermission => p.includes(':') || p === 'infer';

/** Reads stay allowed in an archived workspace; everything else is refused there. */
export const isRead = (p: WorkspacePermission): boolean => p.endsWith(':read');

export const isRole = (r: unknown): r is Role => typeof r === 'string' && (ROLES as readonly string[]).includes(r);
