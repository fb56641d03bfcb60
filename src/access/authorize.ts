/**
 * Who may make a call, the same for every transport: the caller's credentials, the permission the
 * call declares (roles.ts) and the workspace it names become a grant, or a catalogue error
 * (UNAUTHENTICATED, PERMISSION_DENIED, WORKSPACE_NOT_FOUND, WORKSPACE_ARCHIVED, RATE_LIMITED).
 * The REST hook (server/auth.ts) and the gRPC wrapper (server/grpc/index.ts) only read their
 * headers or metadata into these arguments and write the outcome back in their own terms.
 */
import { BettongError } from '../errors/index.ts';
import type { AccessService, Grant } from './index.ts';
import { RateLimiter, type RateLimitOptions } from './ratelimit.ts';
import type { Permission } from './roles.ts';

export interface AuthOptions {
  /** Every request needs a token. Off: loopback-only local mode, where a call without a token acts as the admin. */
  auth?: boolean;
  /** Per-token limit on the inference calls (REST and gRPC share a token's bucket); none when absent. */
  rateLimit?: RateLimitOptions;
}

export interface Credentials {
  /** The Authorization value: "Bearer <token>". */
  authorization?: string;
}

/** RATE_LIMITED, with the seconds until the token's bucket has a request again. */
export class RateLimitedError extends BettongError {
  constructor(readonly retryAfterSeconds: number, message: string) {
    super('RATE_LIMITED', message);
  }
}

export class Authorizer {
  private readonly limiter: RateLimiter | undefined;

  constructor(private readonly access: AccessService, private readonly opts: AuthOptions) {
    this.limiter = opts.rateLimit ? new RateLimiter(opts.rateLimit) : undefined;
  }

  /**
   * The grant for a call needing `permission` in `workspace` (absent: the token's own, else the
   * default); null for public calls. Calls that need `infer` take one request from the token's bucket.
   * `onProgress` hears who is calling, then where, as soon as each is known, so a refusal after that
   * can be audited with them.
   */
  async authorize(credentials: Credentials, permission: Permission, workspace?: string, onProgress?: (g: Grant) => void): Promise<Grant | null> {
    if (permission === 'public') return null;
    const principal = await this.access.authenticate(credentials.authorization, { local: !this.opts.auth });
    onProgress?.({ principal, workspace: null, role: null });
    const grant = await this.access.resolve(principal, permission, workspace);
    onProgress?.(grant);
    this.access.check(grant, permission);
    if (this.limiter && permission === 'infer') {
      const wait = this.limiter.take(principal.token ? `t${principal.token.id}` : 'local');
      if (wait > 0) {
        throw new RateLimitedError(Math.max(1, Math.ceil(wait)),
          `token rate limit reached (${this.limiter.perSecond} requests per second, bursts of ${this.limiter.burst}); retry after ${wait.toFixed(2)} s`);
      }
    }
    return grant;
  }
}
