/**
 * API tokens. A secret is 32 random bytes (base64url, prefixed `btg_`), shown once when the
 * token is made; only its sha256 is stored, so a lookup by hash needs no constant-time compare.
 */
import crypto from 'node:crypto';
import { fail } from '../errors/index.ts';
import { checkName } from '../registry/index.ts';
import type { DB } from '../store/index.ts';
import { MAX_TIME, isoTime, parseDuration, parseTime } from '../time/index.ts';

export const TOKEN_PREFIX = 'btg_';

export const newSecret = (): string => TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
export const hashSecret = (secret: string): string => crypto.createHash('sha256').update(secret, 'utf8').digest('hex');

/** A token as listed: never its secret, never its hash. */
export interface TokenInfo {
  id: number;
  name: string;
  user: string;
  /** The one workspace it may act in; null: any the user is a member of. */
  workspace: string | null;
  inference_only: boolean;
  expires_at: string | null;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/** What authentication needs to know about a presented token. */
export interface TokenGrant {
  id: number;
  name: string;
  userId: number;
  workspaceId: number | null;
  inferenceOnly: boolean;
}

export interface NewToken {
  name: string;
  userId: number;
  workspaceId?: number | null;
  inferenceOnly?: boolean;
  expiresAt?: number | null;
  /** A secret chosen elsewhere (BETTONG_ADMIN_TOKEN); otherwise one is generated. */
  secret?: string;
}

/** last_used_at is written at most this often per token, so inference does not write on every call. */
const TOUCH_MS = 60_000;

export class Tokens {
  constructor(private readonly db: DB, private readonly now: () => number = Date.now) {}

  private active(userId: number, name: string) {
    return this.db.selectFrom('tokens').select(['id', 'workspace_id']).where('user_id', '=', userId).where('name', '=', name).where('revoked_at', 'is', null);
  }

  /** Makes a token; the answer carries the secret, the only time it is ever returned. */
  async create(t: NewToken): Promise<{ id: number; secret: string }> {
    checkName('token', t.name);
    if (t.expiresAt != null) {
      // Only a time every reader can format is stored: one unrepresentable row would break every listing.
      if (!Number.isInteger(t.expiresAt) || t.expiresAt > MAX_TIME) fail('INVALID_REQUEST', `'expires_at' must be a time before the end of 9999, got ${t.expiresAt}`);
      if (t.expiresAt <= this.now()) fail('INVALID_REQUEST', "'expires_at' must be in the future");
    }
    if (await this.active(t.userId, t.name).executeTakeFirst()) fail('TOKEN_EXISTS', `a token named '${t.name}' already exists; revoke it first or pick another name`);
    const secret = t.secret ?? newSecret();
    const row = await this.db.insertInto('tokens').values({
      user_id: t.userId, name: t.name, hash: hashSecret(secret), workspace_id: t.workspaceId ?? null,
      inference_only: t.inferenceOnly ? 1 : 0, expires_at: t.expiresAt ?? null, created_at: this.now(),
      last_used_at: null, revoked_at: null,
    }).returning('id').executeTakeFirstOrThrow();
    return { id: row.id, secret };
  }

  async list(userId?: number): Promise<TokenInfo[]> {
    let q = this.db.selectFrom('tokens as t').innerJoin('users as u', 'u.id', 't.user_id').leftJoin('workspaces as w', 'w.id', 't.workspace_id')
      .select(['t.id', 't.name', 'u.name as user', 'w.name as workspace', 't.inference_only', 't.expires_at', 't.created_at', 't.last_used_at', 't.revoked_at'])
      .where('t.revoked_at', 'is', null).orderBy('u.name').orderBy('t.name');
    if (userId !== undefined) q = q.where('t.user_id', '=', userId);
    return (await q.execute()).map((r) => ({
      id: r.id, name: r.name, user: r.user, workspace: r.workspace, inference_only: r.inference_only === 1,
      expires_at: isoTime(r.expires_at), created_at: isoTime(r.created_at) ?? '', last_used_at: isoTime(r.last_used_at), revoked_at: isoTime(r.revoked_at),
    }));
  }

  /** Revokes a user's active token by name: refused from the next request on. */
  async revoke(userId: number, name: string): Promise<{ id: number; workspaceId: number | null }> {
    const row = await this.active(userId, name).executeTakeFirst();
    if (!row) return fail('TOKEN_NOT_FOUND', `no active token named '${name}'`);
    await this.db.updateTable('tokens').set({ revoked_at: this.now() }).where('id', '=', row.id).execute();
    return { id: row.id, workspaceId: row.workspace_id };
  }

  /** The token a secret stands for: UNAUTHENTICATED when unknown, revoked or expired. */
  async verify(secret: string): Promise<TokenGrant> {
    const row = await this.db.selectFrom('tokens').selectAll().where('hash', '=', hashSecret(secret)).executeTakeFirst();
    if (!row || row.revoked_at !== null) return fail('UNAUTHENTICATED', 'the token is not valid (unknown or revoked)');
    const now = this.now();
    if (row.expires_at !== null && row.expires_at <= now) return fail('UNAUTHENTICATED', `the token '${row.name}' expired at ${isoTime(row.expires_at)}`);
    if (row.last_used_at === null || now - row.last_used_at > TOUCH_MS) {
      await this.db.updateTable('tokens').set({ last_used_at: now }).where('id', '=', row.id).execute();
    }
    return { id: row.id, name: row.name, userId: row.user_id, workspaceId: row.workspace_id, inferenceOnly: row.inference_only === 1 };
  }

  /** Makes `secret` the user's token named `name`, replacing an earlier one of that name (BETTONG_ADMIN_TOKEN on each start). */
  async ensure(userId: number, name: string, secret: string): Promise<boolean> {
    const existing = await this.db.selectFrom('tokens').select(['id', 'user_id', 'revoked_at']).where('hash', '=', hashSecret(secret)).executeTakeFirst();
    if (existing && existing.user_id === userId && existing.revoked_at === null) return false;
    if (existing) fail('INVALID_REQUEST', `the secret given for token '${name}' belongs to a revoked token or to another user; choose a new one`);
    const old = await this.active(userId, name).executeTakeFirst();
    if (old) await this.db.updateTable('tokens').set({ revoked_at: this.now() }).where('id', '=', old.id).execute();
    await this.create({ name, userId, secret });
    return true;
  }
}

/**
 * When a token expires, in epoch ms: `expires_at` (epoch ms or ISO 8601) or `expires_in`
 * (milliseconds, or like "90s", "12h", "30d") from now; undefined for a token that never expires.
 */
export function expiryOf(r: { expires_at?: number | string; expires_in?: number | string }, now = Date.now()): number | undefined {
  if (r.expires_at !== undefined && r.expires_in !== undefined) fail('INVALID_REQUEST', 'give expires_at or expires_in, not both');
  if (r.expires_at !== undefined) return parseTime(r.expires_at, 'expires_at');
  if (r.expires_in !== undefined) return now + parseDuration(r.expires_in, 'expires_in');
  return undefined;
}
