/**
 * Alert delivery: a JSON POST to the assay's (or performance monitor's) webhook, retried with
 * exponential backoff (p-retry). Every delivery is a row in `assay_alerts` (`performance_alerts`
 * for monitors) (pending → delivered | failed) with its attempt count,
 * the last HTTP status and the last error; deliveries still pending at shutdown are sent again on
 * the next start.
 */
import pRetry, { AbortError } from 'p-retry';
import { type Agent, fetch } from 'undici';
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
  private readonly abort = new AbortController();
  private readonly retries: number;
  private readonly minTimeout: number;
  private readonly attemptTimeout: number;
  private readonly agent: Agent;
  metrics?: DeliveryMetrics;

  constructor(private readonly db: DB, opts: AlertOptions = {}, private readonly now: () => number = Date.now, private readonly where: AlertTable = ASSAY_ALERTS) {
    this.retries = opts.retries ?? 5;
    this.minTimeout = opts.minTimeoutMs ?? 500;
    this.attemptTimeout = opts.attemptTimeoutMs ?? 10_000;
    this.agent = webhookAgent(opts.allowPrivateTargets ?? false);
  }

  /** Records a delivery and sends it in the background. */
  async enqueue(ownerId: number, resultId: number, url: string, payload: unknown): Promise<void> {
    const now = this.now();
    // one table or the other, same columns: typed as the assay table
    const row = await this.db.insertInto(this.where.table as 'assay_alerts').values({
      [this.where.owner as 'assay_id']: ownerId, result_id: resultId, url, payload: JSON.stringify(payload), status: 'pending', attempts: 0,
      http_status: null, last_error: null, created_at: now, updated_at: now,
    }).returning('id').executeTakeFirstOrThrow();
    this.track(this.deliver(row.id, url, JSON.stringify(payload)));
  }

  /** Sends every delivery left pending (by a shutdown or a crash). */
  async resumePending(): Promise<void> {
    const rows = await this.db.selectFrom(this.where.table as 'assay_alerts').select(['id', 'url', 'payload']).where('status', '=', 'pending').execute();
    for (const r of rows) this.track(this.deliver(r.id, r.url, r.payload));
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
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
