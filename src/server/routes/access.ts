/** Access routes: workspaces, users, members, tokens and the audit log. */
import type { FastifyInstance } from 'fastify';
import { expiryOf } from '../../access/index.ts';
import type { Platform } from '../../platform.ts';
import { noteAudit } from '../auth.ts';
import { nameParam, queryTime, workspaceOf } from '../context.ts';
import { errors, listOf, newName, ref } from '../schemas.ts';

const nameBody = { type: 'object', required: ['name'], additionalProperties: false, properties: { name: newName } } as const;
const whoami = {
  type: 'object', required: ['user', 'admin', 'token'],
  properties: {
    user: { type: 'string' }, admin: { type: 'boolean' },
    token: { anyOf: [{ type: 'null' }, { type: 'object', properties: { name: { type: 'string' }, workspace: { type: ['string', 'null'] }, inference_only: { type: 'boolean' } } }] },
  },
} as const;
const userQs = { type: 'object', properties: { user: { type: 'string', description: "another user's tokens (platform admins); '*' for everyone's" } } } as const;
const auditQs = {
  type: 'object',
  properties: {
    start: { type: 'string', description: 'epoch ms or ISO 8601, inclusive' },
    end: { type: 'string', description: 'epoch ms or ISO 8601, exclusive' },
    action: { type: 'string', description: "one action ('pipeline.deploy'), or a prefix ending in '.' ('token.')" },
    limit: { type: 'integer', minimum: 1, maximum: 10000, default: 100 },
    cursor: { type: 'string', pattern: '^\\d+$', description: 'next_cursor of the previous page' },
  },
} as const;
type AuditQs = { start?: string; end?: string; action?: string; limit?: number; cursor?: string };

const tokenBody = {
  type: 'object', required: ['name'], additionalProperties: false,
  properties: {
    name: newName,
    workspace: { type: 'string', description: 'limit the token to this workspace' },
    inference_only: { type: 'boolean', description: 'the token can call inference endpoints and nothing else' },
    expires_at: { anyOf: [{ type: 'integer' }, { type: 'string' }], description: 'epoch ms or ISO 8601' },
    expires_in: { anyOf: [{ type: 'integer', minimum: 1 }, { type: 'string' }], description: 'milliseconds, or like "90s", "12h", "30d"' },
    user: { type: 'string', description: 'make the token for another user (platform admins)' },
  },
} as const;
type TokenBody = { name: string; workspace?: string; inference_only?: boolean; expires_at?: number | string; expires_in?: number | string; user?: string };

export const accessRoutes = (p: Platform) => async (app: FastifyInstance) => {
  const a = p.access;

  app.get('/v1/whoami', {
    config: { permission: 'authenticated' },
    schema: { tags: ['access'], summary: 'The caller: user, and the token used (null in local mode)', response: { 200: whoami } },
  }, async (req) => {
    const { user, token } = req.access!.principal;
    const ws = token?.workspaceId != null ? await a.workspaces.byId(token.workspaceId) : undefined;
    return {
      user: user.name, admin: user.admin,
      token: token ? { name: token.name, workspace: ws?.name ?? null, inference_only: token.inferenceOnly } : null,
    };
  });

  // workspaces

  app.get('/v1/workspaces', {
    config: { permission: 'account' },
    schema: { tags: ['access'], summary: 'The workspaces the caller can act in, with its role in each', response: { 200: listOf('workspaces', ref('Workspace')) } },
  }, async (req) => ({ workspaces: await a.listWorkspaces(req.access!.principal) }));

  app.post<{ Body: { name: string } }>('/v1/workspaces', {
    config: { permission: 'account', audit: 'workspace.create' },
    schema: { tags: ['access'], body: nameBody, summary: 'Create a workspace; the caller becomes its owner', response: { 201: ref('Workspace'), ...errors(409) } },
  }, async (req, reply) => {
    const ws = await a.createWorkspace(req.access!.principal, req.body.name);
    noteAudit(req, { workspaceId: ws.id });
    return reply.status(201).send(ws);
  });

  app.get<{ Params: { name: string } }>('/v1/workspaces/:name', {
    config: { permission: 'workspace:read', workspaceParam: 'name' },
    schema: { tags: ['access'], params: nameParam, summary: 'A workspace and the caller\'s role in it', response: { 200: ref('Workspace') } },
  }, async (req) => ({ ...req.access!.workspace!, role: req.access!.role }));

  app.patch<{ Params: { name: string }; Body: { name: string } }>('/v1/workspaces/:name', {
    config: { permission: 'workspace:write', workspaceParam: 'name', audit: 'workspace.rename' },
    schema: { tags: ['access'], params: nameParam, body: nameBody, summary: 'Rename a workspace (owners)', response: { 200: ref('Workspace'), ...errors(409) } },
  }, async (req) => {
    noteAudit(req, { detail: { to: req.body.name } });
    return a.workspaces.rename(workspaceOf(req), req.body.name);
  });

  app.post<{ Params: { name: string } }>('/v1/workspaces/:name/archive', {
    config: { permission: 'workspace:write', workspaceParam: 'name', audit: 'workspace.archive' },
    schema: { tags: ['access'], params: nameParam, summary: 'Archive a workspace (owners): its pipelines are undeployed; it stays readable, nothing in it can change', response: { 200: ref('Workspace') } },
  }, async (req) => a.archiveWorkspace(req.access!.workspace!, true));

  app.post<{ Params: { name: string } }>('/v1/workspaces/:name/unarchive', {
    config: { permission: 'workspace:write', workspaceParam: 'name', audit: 'workspace.unarchive' },
    schema: { tags: ['access'], params: nameParam, summary: 'Bring an archived workspace back (owners)', response: { 200: ref('Workspace') } },
  }, async (req) => a.archiveWorkspace(req.access!.workspace!, false));

  // users

  app.get('/v1/users', {
    config: { permission: 'admin' },
    schema: { tags: ['access'], summary: 'List users (platform admins)', response: { 200: listOf('users', ref('User')) } },
  }, async () => ({ users: await a.users.list() }));

  app.post<{ Body: { name: string; admin?: boolean } }>('/v1/users', {
    config: { permission: 'admin', audit: 'user.create' },
    schema: {
      tags: ['access'], summary: 'Create a user (platform admins); give them a token with POST /v1/tokens {"user": ...}',
      body: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: newName, admin: { type: 'boolean' } } },
      response: { 201: ref('User'), ...errors(409) },
    },
  }, async (req, reply) => {
    noteAudit(req, { workspaceId: null, detail: { admin: req.body.admin === true } });
    return reply.status(201).send(await a.users.create(req.body.name, { admin: req.body.admin }));
  });

  // members of the current workspace

  app.get('/v1/members', {
    config: { permission: 'member:read' },
    schema: { tags: ['access'], summary: 'Members of the current workspace and their roles', response: { 200: listOf('members', ref('Member')) } },
  }, async (req) => ({ members: await a.members.list(workspaceOf(req)) }));

  app.post<{ Body: { user: string; role: string } }>('/v1/members', {
    config: { permission: 'member:write', audit: 'member.add' },
    schema: {
      tags: ['access'], summary: "Add a user to the current workspace, or change a member's role (owners)",
      body: {
        type: 'object', required: ['user', 'role'], additionalProperties: false,
        properties: { user: { type: 'string' }, role: { type: 'string', enum: ['owner', 'editor', 'viewer'] } },
      },
      response: {
        200: { allOf: [ref('Member'), { type: 'object', required: ['previous'], properties: { previous: { type: ['string', 'null'], description: 'the role before; null: newly added' } } }] },
        ...errors(404, 409),
      },
    },
  }, async (req) => {
    const m = await a.addMember(workspaceOf(req), req.body.user, req.body.role);
    noteAudit(req, { action: m.previous ? 'member.role' : 'member.add', detail: { role: m.role, previous: m.previous } });
    return m;
  });

  app.delete<{ Params: { user: string } }>('/v1/members/:user', {
    config: { permission: 'member:write', audit: 'member.remove' },
    schema: {
      tags: ['access'], summary: 'Remove a member from the current workspace (owners); the last owner stays',
      params: { type: 'object', required: ['user'], properties: { user: { type: 'string' } } },
      response: { 200: { type: 'object', required: ['removed', 'role'], properties: { removed: { type: 'string' }, role: { type: 'string' } } }, ...errors(409) },
    },
  }, async (req) => a.removeMember(workspaceOf(req), req.params.user));

  // tokens

  app.get<{ Querystring: { user?: string } }>('/v1/tokens', {
    config: { permission: 'account' },
    schema: { tags: ['access'], querystring: userQs, summary: 'The caller\'s active tokens (never their secrets)', response: { 200: listOf('tokens', ref('Token')), ...errors(404) } },
  }, async (req) => ({ tokens: await a.listTokens(req.access!.principal, req.query.user) }));

  app.post<{ Body: TokenBody }>('/v1/tokens', {
    config: { permission: 'account', audit: 'token.create' },
    schema: { tags: ['access'], body: tokenBody, summary: 'Create an API token; its secret is in this answer only and is stored only as a hash',
      response: { 201: { type: 'object', required: ['token', 'secret'], properties: { token: ref('Token'), secret: { type: 'string' } } }, ...errors(404, 409) },
    },
  }, async (req, reply) => {
    const b = req.body;
    const out = await a.createToken(req.access!.principal, {
      name: b.name, user: b.user, workspace: b.workspace, inference_only: b.inference_only, expires_at: expiryOf(b),
    });
    const t = out.token;
    const ws = t.workspace === null ? null : await a.workspaces.byName(t.workspace);
    noteAudit(req, { workspaceId: ws?.id ?? null, detail: { user: t.user, inference_only: t.inference_only, expires_at: t.expires_at } });
    return reply.status(201).send(out);
  });

  app.delete<{ Params: { name: string }; Querystring: { user?: string } }>('/v1/tokens/:name', {
    config: { permission: 'account', audit: 'token.revoke' },
    schema: { tags: ['access'], params: nameParam, querystring: userQs, summary: 'Revoke a token: refused from the next request on',
      response: { 200: { type: 'object', required: ['revoked', 'user'], properties: { revoked: { type: 'string' }, user: { type: 'string' } } } },
    },
  }, async (req) => {
    const r = await a.revokeToken(req.access!.principal, req.params.name, req.query.user);
    noteAudit(req, { workspaceId: r.workspaceId, detail: { user: r.user } });
    return { revoked: r.revoked, user: r.user };
  });

  // audit

  const query = (q: AuditQs) => {
    return { start: queryTime(q.start, 'start'), end: queryTime(q.end, 'end'), action: q.action, limit: q.limit, cursor: q.cursor };
  };

  app.get<{ Querystring: AuditQs }>('/v1/audit', {
    config: { permission: 'audit:read' },
    schema: { tags: ['access'], querystring: auditQs, summary: 'The current workspace\'s audit log, newest first (owners)', response: { 200: ref('AuditPage') } },
  }, async (req) => a.audit.query(workspaceOf(req), query(req.query)));

  app.get<{ Querystring: AuditQs }>('/v1/audit/platform', {
    config: { permission: 'admin' },
    schema: { tags: ['access'], querystring: auditQs, summary: 'Platform events: users, unscoped tokens, refusals outside any workspace (platform admins)', response: { 200: ref('AuditPage') } },
  }, async (req) => a.audit.query(null, query(req.query)));
};
