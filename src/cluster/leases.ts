/**
 * Leases: work that exactly one of several servers on one database does at a time (an assay's
 * windows, an alert's delivery). A lease is a row claimed with one upsert that only takes it
 * when it is free, expired or already ours, so it works alike on SQLite and PostgreSQL. Its
 * holder renews it while working; when the holder dies, the lease expires and a survivor takes it.
 * Times are the servers' clocks: they must agree to well within a lease's length.
 */
import crypto from 'node:crypto';
import type { DB } from '../store/index.ts';

export type Claim = { won: true } | { won: false; expiresAt: number };

export class Leases {
  /** This server's name on its leases: random per process, so a restarted server does not inherit a dead one's. */
  readonly owner = crypto.randomUUID();

  constructor(private readonly db: DB, private readonly now: () => number = Date.now) {}

  /** Takes or renews `name` for `ms`; when another server holds it, says until when. */
  async claim(name: string, ms: number): Promise<Claim> {
    const now = this.now();
    const won = await this.db.insertInto('leases').values({ name, owner: this.owner, expires_at: now + ms })
      .onConflict((oc) => oc.column('name').doUpdateSet({ owner: this.owner, expires_at: now + ms })
        .where((eb) => eb.or([eb('leases.expires_at', '<=', now), eb('leases.owner', '=', this.owner)])))
      .returning('name').executeTakeFirst();
    if (won) return { won: true };
    const held = await this.db.selectFrom('leases').select('expires_at').where('name', '=', name).executeTakeFirst();
    // Released between the two statements: free now.
    return { won: false, expiresAt: held ? Number(held.expires_at) : now };
  }

  /** Gives `name` up, if it is still ours. */
  async release(name: string): Promise<void> {
    await this.db.deleteFrom('leases').where('name', '=', name).where('owner', '=', this.owner).execute();
  }

  /**
   * Runs `work` under the lease `name`, renewing it every third of `ms`; null without running it
   * when another server holds the lease. Should a renewal fail (the store is away longer than the
   * lease), the work still finishes: what it stores must be guarded too (assays: next_window).
   */
  async hold<T>(name: string, ms: number, work: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false; expiresAt: number }> {
    const claim = await this.claim(name, ms);
    if (!claim.won) return { ran: false, expiresAt: claim.expiresAt };
    const renew = setInterval(() => void this.claim(name, ms).catch(() => undefined), Math.max(1, Math.floor(ms / 3)));
    renew.unref();
    try {
      return { ran: true, value: await work() };
    } finally {
      clearInterval(renew);
      await this.release(name).catch(() => undefined);
    }
  }
}
