/**
 * Alert delivery: a JSON POST to the assay's (or performance monitor's) webhook, retried with
 * exponential backoff (p-retry). Every delivery is a row in `assay_alerts` (`performance_alerts`
 * for monitors) (pending → delivered | failed) with its attempt count,
 * the last HTTP status and the last error; deliveries still pending at shutdown are sent again on
 * the next start. With several servers on one database, a delivery is sent under a lease
 * (cluster/leases.ts): by the server that stored the alert, or, when that one stops or dies
 * before it is done, by one survivor once the lease runs out.
 */
import pRetry, { AbortError } from 'p-retry';
import { type Agent, fetch } from 'undici';
import type { Leases } from '../cluster/leases.ts';
import type { DB } from '../store/index.ts';
import { RefusedTargetError, webhookAgent } from './webhooks.ts';

export interface AlertOptions {
  /** Retries after the first attempt (default 5). */
  retries?: number;
  /** Delay before the first retry, doubled each time (default 500 ms, at most 30 s). */
  minTimeoutMs?: number;
  /** One attempt's time limit (default 10 s). */
  attemptTimeoutMs?: number;
  /** Deliver to private, loopback and link-local addresses too (default: refused, see webhooks.ts). */
  allowPrivateTargets?: boolean;
  /** How long a delivery's lease lasts unrenewed: a dead server's deliveries wait this long for a survivor (default 15 s). */
  leaseMs?: number;
}

/** Where deliveries are recorded: the two tables have the same columns but the owner's. */
export type AlertTable = { table: 'assay_alerts'; owner: 'assay_id' } | { table: 'performance_alerts'; owner: 'monitor_id' };
const ASSAY_ALERTS: AlertTable = { table: 'assay_alerts', owner: 'assay_id' };

export type DeliveryOutcome = 'delivered' | 'retried' | 'failed';

/** What alert delivery tells metrics (observability/metrics.ts). */
export interface DeliveryMetrics {
  delivery(outcome: DeliveryOutcome): void;
}

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`webhook answered HTTP ${status}`);
  }
}

export class AlertDispatcher {
  private readonly inFlight = new Set<Promise<void>>();
  /** Deliveries this server is sending (they are leased to it; a resume must not send them twice). */
  private readonly sending = new Set<number>();
  private readonly leaseMs: number;
  private readonly abort = new AbortController();
  private readonly retries: number;
  private readonly minTimeout: number;
  private readonly attemptTimeout: number;
  private readonly agent: Agent;
  metrics?: DeliveryMetrics;

  constructor(private readonly db: DB, private readonly leases: Leases, opts: AlertOptions = {}, private readonly now: () => number = Date.now, private readonly where: AlertTable = ASSAY_ALERTS) {
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.retries = opts.retries ?? 5;
    this.minTimeout = opts.minTimeoutMs ?? 500;
    this.attemptTimeout = opts.attemptTimeoutMs ?? 10_000;
    this.agent = webhookAgent(opts.allowPrivateTargets ?? false);
  }

  /** Sends every delivery left pending (by a shutdown or a crash, here or on another server) that no live server is sending. */
  async resumePending(): Promise<void> {
    // one table or the other, same columns: typed as the assay table
    const rows = await this.db.selectFrom(this.where.table as 'assay_alerts').select(['id', 'url', 'payload']).where('status', '=', 'pending').execute();
    for (const r of rows) this.send(r.id, r.url, r.payload);
  }

  /** Delivers a stored delivery in the background, under its lease; nothing when this server sends it already or another holds it. */
  send(id: number, url: string, body: string): void {
    if (this.sending.has(id) || this.abort.signal.aborted) return;
    this.sending.add(id);
    const p = this.leases.hold(`${this.where.table === 'assay_alerts' ? 'alert' : 'monitor-alert'}:${id}`, this.leaseMs, async () => {
      // Delivered or failed meanwhile by the server whose lease just ran out.
      const row = await this.db.selectFrom(this.where.table as 'assay_alerts').select('status').where('id', '=', id).executeTakeFirst();
      if (row?.status === 'pending') await this.deliver(id, url, body);
    }).then(() => undefined, (e) => console.error(`alert ${id}: ${(e as Error).message}`));
    this.inFlight.add(p);
    void p.finally(() => {
      this.inFlight.delete(p);
      this.sending.delete(id);
    });
  }

  private async record(id: number, set: { status?: string; attempts?: number; http_status?: number | null; last_error?: string | null }): Promise<void> {
    try {
      await this.db.updateTable(this.where.table as 'assay_alerts').set({ ...set, updated_at: this.now() }).where('id', '=', id).execute();
    } catch { /* the store is closing or the assay was deleted: nothing left to record */ }
  }

  private async deliver(id: number, url: string, body: string): Promise<void> {
    let attempts = 0;
    try {
      await pRetry(async () => {
        attempts++;
        let res: Awaited<ReturnType<typeof fetch>>;
        try {
          res = await fetch(url, {
            method: 'POST', headers: { 'content-type': 'application/json', 'user-agent': this.where.table === 'assay_alerts' ? 'bettong-assays' : 'bettong-monitors' }, body,
            signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.attemptTimeout)]), dispatcher: this.agent,
          });
          await res.arrayBuffer();
        } catch (e) {
          if (this.abort.signal.aborted) throw new AbortError('shutting down');
          // where it would connect will not change by asking again
          const cause = (e as Error).cause;
          if (cause instanceof RefusedTargetError) throw new AbortError(cause);
          // network errors and timeouts are worth another try
          throw new Error(`cannot reach webhook: ${(e as Error).cause ?? (e as Error).message}`);
        }
        if (!res.ok) {
          const err = new HttpStatusError(res.status);
          // a 4xx other than 408/429 will not get better by asking again
          if (res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429) throw new AbortError(err);
          throw err;
        }
        this.metrics?.delivery('delivered');
        await this.record(id, { status: 'delivered', attempts, http_status: res.status, last_error: null });
      }, {
        retries: this.retries, minTimeout: this.minTimeout, factor: 2, maxTimeout: 30_000, randomize: false, signal: this.abort.signal,
        onFailedAttempt: async ({ error, retriesLeft }) => {
          if (retriesLeft > 0 && !(error instanceof AbortError)) this.metrics?.delivery('retried');
          await this.record(id, { attempts, http_status: error instanceof HttpStatusError ? error.status : null, last_error: error.message });
        },
      });
    } catch (e) {
      if (this.abort.signal.aborted) return; // stays pending; sent again on the next start
      this.metrics?.delivery('failed');
      const err = e as Error & { originalError?: Error };
      const cause = err instanceof HttpStatusError ? err : err.originalError ?? err;
      await this.record(id, { status: 'failed', attempts, http_status: cause instanceof HttpStatusError ? cause.status : null, last_error: cause.message });
    }
  }

  /** Waits for deliveries in flight to finish; `abort` cuts retries short (they stay pending). */
  async close(abort = true): Promise<void> {
    if (abort) this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
    await this.agent.close();
  }
}
