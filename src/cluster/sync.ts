/**
 * Keeps this server in step with others on the same database. Every `intervalMs` it reconciles
 * its running deployments with the deployments table (another server's deploy, swap or undeploy
 * is loaded or retired here) and wakes the assay scheduler when the assays changed (one created
 * or resumed elsewhere). Polling two small queries works on SQLite and PostgreSQL alike; a change
 * made anywhere runs everywhere after at most one interval plus the time to load its models.
 *
 * Nothing else needs syncing: tokens, roles and members are read from the database on every
 * request (a revoked token is refused everywhere from the next request), and the workspace
 * cache (access/workspaces.ts) lives for one second.
 */
import type { DeploymentService } from '../deployments/index.ts';
import type { DB } from '../store/index.ts';

export interface SyncOptions {
  /** How often to look for changes made through other servers, ms (default 250). */
  intervalMs?: number;
}

export class ClusterSync {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private assays = '';
  private lastError = '';
  private readonly intervalMs: number;
  /** Passes since start (for tests). */
  passes = 0;

  constructor(
    private readonly db: DB,
    private readonly deployments: DeploymentService,
    private readonly onAssaysChanged: () => void,
    opts: SyncOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 250;
  }

  /** Starts polling; the first pass runs after one interval (the platform has just restored its deployments). */
  async start(): Promise<void> {
    this.assays = await this.assayVersion();
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.pass().finally(() => {
        this.running = undefined;
        this.arm();
      });
    }, this.intervalMs);
    this.timer.unref();
  }

  private async pass(): Promise<void> {
    try {
      await this.deployments.reconcile();
      const version = await this.assayVersion();
      if (version !== this.assays) {
        this.assays = version;
        this.onAssaysChanged();
      }
      this.passes++;
      this.lastError = '';
    } catch (e) {
      // Once per distinct failure, not four times a second while the database is away.
      const message = (e as Error).message;
      if (!this.stopped && message !== this.lastError) console.error(`cluster sync: ${message}`);
      this.lastError = message;
    }
  }

  /** Changes whenever an assay is created, deleted, paused, resumed or runs a window. */
  private async assayVersion(): Promise<string> {
    const r = await this.db.selectFrom('assays').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('updated_at').as('at')]).executeTakeFirst();
    return `${r?.n ?? 0}/${r?.at ?? 0}`;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
