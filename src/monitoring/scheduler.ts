/**
 * Runs saved assays (and performance monitors: the same loop over another WindowRunner) by themselves: each active assay's next window runs once it has ended (plus a
 * grace period for log rows still in flight), results are stored, alerts handed to the
 * dispatcher. The next window to run is stored with the assay and moved on in the same
 * transaction that stores the result, so no window runs twice and a restart picks up where the
 * last run left off (catching up windows that ended while the server was down). One timer, set
 * for the soonest due window; no polling.
 *
 * With several servers on one database, each runs this scheduler: an assay's windows are run
 * under a lease (cluster/leases.ts), so one server computes a window while the others wait for
 * the lease; when that server dies mid-window, its lease runs out and a survivor runs the window.
 */
import type { Leases } from '../cluster/leases.ts';
import type { AlertDispatcher } from './alerts.ts';
import { type WindowGrid, newestComplete, windowAt } from './windows.ts';

/** What the scheduler runs: saved assays, or performance monitors. */
export interface WindowRunner<O extends RunOutcome = RunOutcome> {
  active(): Promise<{ id: number; grid: WindowGrid; next: number }[]>;
  /** null: paused, deleted or already run meanwhile. */
  runWindow(id: number, index: number): Promise<O | null>;
}

export interface RunOutcome {
  result: { id: number };
  /** The alert's delivery, stored with the result (so a crash cannot lose it). */
  alert: { id: number; url: string; payload: string } | null;
  /** The window is not final yet (labels still arriving): run it again by then. */
  waitUntil?: number;
}

export interface SchedulerOptions {
  /** Wait this long after a window ends before running it (default 1 s): rows of requests in flight land. */
  graceMs?: number;
  /** Windows one assay may run in one pass while catching up (default 50). */
  maxWindowsPerPass?: number;
  /** The longest the timer sleeps before looking again (default 60 s). */
  maxSleepMs?: number;
  /** How long a server's hold on an assay's windows lasts unrenewed: a dead server's windows wait this long for a survivor (default 15 s). */
  leaseMs?: number;
  /** What the lease on one runner's windows is called: `<leaseName>:<id>` (default 'assay'). */
  leaseName?: string;
}

/** What the assay scheduler tells metrics (observability/metrics.ts). */
export interface AssayMetrics {
  assayRan(assayId: number, assay: string, status: string, score: number | null): void;
}

const RETRY_AFTER_ERROR_MS = 5000;

export class AssayScheduler<O extends RunOutcome = RunOutcome> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private again = false;
  private readonly grace: number;
  private readonly maxPerPass: number;
  private readonly maxSleep: number;
  private readonly leaseMs: number;
  private readonly leaseName: string;
  /** Assays whose last run failed: not retried before this time. */
  private readonly backoff = new Map<number, number>();
  /** Windows run since start (for tests and metrics). */
  runs = 0;
  /** Told of every window run (metrics). */
  onRun?: (id: number, outcome: O) => void;

  constructor(
    private readonly assays: WindowRunner<O>,
    private readonly alerts: AlertDispatcher,
    private readonly leases: Leases,
    opts: SchedulerOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.grace = opts.graceMs ?? 1000;
    this.maxPerPass = opts.maxWindowsPerPass ?? 50;
    this.maxSleep = opts.maxSleepMs ?? 60_000;
    this.leaseMs = opts.leaseMs ?? 15_000;
    this.leaseName = opts.leaseName ?? 'assay';
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.wake();
  }

  /** Re-plans now: an assay was created, resumed, paused or deleted (a monitor's labels arrived). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.arm(0);
  }

  private arm(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
    }, Math.max(0, delay));
    this.timer.unref();
  }

  /** Runs every due window, then sleeps until the next one is due. */
  private async pass(): Promise<void> {
    if (this.stopped) return;
    let soonest = Infinity;
    try {
      // Deliveries a stopped or dead server left pending are taken over here.
      await this.alerts.resumePending();
      for (const a of await this.assays.active()) {
        if (this.stopped) return;
        const notBefore = this.backoff.get(a.id) ?? 0;
        if (this.now() < notBefore) {
          soonest = Math.min(soonest, notBefore);
          continue;
        }
        let next = a.next;
        let waitUntil: number | undefined;
        const newest = newestComplete(a.grid, this.now() - this.grace);
        if (next <= newest) {
          try {
            const held = await this.leases.hold(`${this.leaseName}:${a.id}`, this.leaseMs, async () => {
              for (let n = 0; next <= newest && n < this.maxPerPass && !this.stopped; n++, next++) {
                const out = await this.assays.runWindow(a.id, next);
                if (!out) break; // paused, deleted or already run meanwhile
                this.runs++;
                this.onRun?.(a.id, out);
                if (out.alert) this.alerts.send(out.alert.id, out.alert.url, out.alert.payload);
                if (out.waitUntil !== undefined) {
                  waitUntil = out.waitUntil;
                  break;
                }
              }
            });
            this.backoff.delete(a.id);
            // Another server runs this assay's windows: look again when its lease would run out.
            if (!held.ran) {
              soonest = Math.min(soonest, this.now() + Math.max(0, held.expiresAt - Date.now()));
              continue;
            }
          } catch (e) {
            if (this.stopped) return;
            console.error(`assay ${a.id}: window ${next} failed, retrying in ${RETRY_AFTER_ERROR_MS / 1000} s: ${(e as Error).message}`);
            this.backoff.set(a.id, this.now() + RETRY_AFTER_ERROR_MS);
            soonest = Math.min(soonest, this.now() + RETRY_AFTER_ERROR_MS);
            continue;
          }
        }
        soonest = Math.min(soonest, waitUntil ?? (next <= newest ? this.now() : windowAt(a.grid, next).end + this.grace));
      }
    } catch (e) {
      if (this.stopped) return;
      console.error(`assay scheduler: ${(e as Error).message}`);
      soonest = this.now() + RETRY_AFTER_ERROR_MS;
    }
    if (!this.stopped && soonest < Infinity) this.arm(Math.min(soonest - this.now(), this.maxSleep));
  }

  /** Stops the timer, lets a window being computed finish, and stops alert retries (they stay pending). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.alerts.close();
  }
}
