/**
 * Authentication, authorization, rate limiting and auditing for REST: attached once, at fixed
 * points of the request lifecycle, never inside handlers. The decisions are the transport-neutral
 * Authorizer's (access/authorize.ts), which gRPC shares; this file only translates headers and answers.
 *
 * - onRequest: the Authorization header, the route's declared permission (`config: { permission }`)
 *   and the request's workspace (the Bettong-Workspace header, or the route's `workspaceParam`) go to
 *   the Authorizer. The grant is kept on `req.access`, which `workspaceOf(req)` reads.
 * - onSend: routes with `config: { audit: '<action>' }` record who did it, where, to what and how
 *   it ended (refusals included), before the answer leaves, so the log never lags the answer.
 *
 * A route that declares no permission needs a platform admin: forgetting one fails closed.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type AccessService, type Authorizer, type Grant, type Permission, RateLimitedError } from '../access/index.ts';
import { BettongError } from '../errors/index.ts';

/** The request header (REST) and metadata key (gRPC) that names the workspace a call acts in. */
export const WORKSPACE_HEADER = 'bettong-workspace';

export interface AuditNote {
  /** Overrides the route's action (e.g. 'member.role' instead of 'member.add'). */
  action?: string;
  target?: string;
  /** Overrides the request's workspace (null: a platform event). */
  workspaceId?: number | null;
  detail?: Record<string, unknown>;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What the route needs (access/roles.ts). Undeclared: a platform admin. */
    permission?: Permission;
    /** The audit action every authenticated call of the route records, e.g. 'model.upload'. */
    audit?: string;
    /** The path parameter that names the workspace (instead of the Bettong-Workspace header). */
    workspaceParam?: string;
  }
  interface FastifyRequest {
    /** Who is calling and in which workspace, once onRequest has authorized the call. */
    access: Grant | null;
    auditNote: AuditNote | null;
  }
}

/** Adds detail to what the route's audit record will say. */
export function noteAudit(req: FastifyRequest, note: AuditNote): void {
  req.auditNote = { ...req.auditNote, ...note, detail: { ...req.auditNote?.detail, ...note.detail } };
}

function workspaceNamed(req: FastifyRequest): string | undefined {
  const param = req.routeOptions.config.workspaceParam;
  if (param) return String((req.params as Record<string, unknown>)[param]);
  const h = req.headers[WORKSPACE_HEADER];
  const v = Array.isArray(h) ? h[0] : h;
  return v === undefined || v === '' ? undefined : v;
}

export function installAuth(app: FastifyInstance, access: AccessService, authorizer: Authorizer): void {
  app.decorateRequest('access', null);
  app.decorateRequest('auditNote', null);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (req.is404) return;
    const permission = req.routeOptions.config.permission ?? 'admin';
    try {
      // Who and where are kept as soon as they are known: a refusal after that is audited with them.
      const seen = (g: Grant) => { req.access = g; };
      req.access = await authorizer.authorize({ authorization: req.headers.authorization }, permission, workspaceNamed(req), seen);
    } catch (e) {
      if (e instanceof RateLimitedError) void reply.header('retry-after', String(e.retryAfterSeconds));
      else if (e instanceof BettongError && e.status === 401) void reply.header('www-authenticate', 'Bearer realm="bettong"');
      throw e;
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    const note = req.auditNote;
    const action = note?.action ?? req.routeOptions.config.audit;
    if (!action || !req.access) return payload;
    const { principal, workspace } = req.access;
    let error: string | null = null;
    if (reply.statusCode >= 400 && typeof payload === 'string') {
      try { error = JSON.parse(payload).code ?? null; } catch { /* not JSON */ }
    }
    const params = (req.params ?? {}) as Record<string, unknown>;
    const body = (req.body && typeof req.body === 'object' && !Buffer.isBuffer(req.body) ? req.body : {}) as Record<string, unknown>;
    const target = note?.target ?? params.name ?? params.user ?? body.name ?? body.user;
    try {
      await access.audit.record({
        workspaceId: note?.workspaceId !== undefined ? note.workspaceId : workspace?.id ?? null,
        userId: principal.user.id, userName: principal.user.name, tokenName: principal.token?.name ?? null,
        action, target: typeof target === 'string' ? target : null, status: reply.statusCode, error, detail: note?.detail,
      });
    } catch (e) {
      console.error(`audit: could not record ${action}: ${(e as Error).message}`);
    }
    return payload;
  });
}
