/**
 * Wires the domain services together over one data directory: the composition root that
 * the server, the tests and the CLI's `serve` share.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { AccessService } from './access/index.ts';
import { ClusterSync, Leases, type SyncOptions } from './cluster/index.ts';
import { type ArtifactOptions, type ArtifactStore, openArtifacts } from './artifacts/index.ts';
import { DeploymentService } from './deployments/index.ts';
import { InferenceService } from './inference/index.ts';
import { InferenceLogWriter, type LogWriterOptions } from './logs/writer.ts';
import { AlertDispatcher, AssayScheduler, AssayService, type MonitoringOptions } from './monitoring/index.ts';
import { FeedbackService, MonitorService } from './monitoring/performance/index.ts';
import { PipelineService } from './pipelines/index.ts';
import { Metrics } from './observability/metrics.ts';
import { TraceObserver, tracingEnabled } from './observability/tracing.ts';
import { ModelRegistry } from './registry/index.ts';
import type { SandboxSettings } from './runtimes/sandbox/index.ts';
import { type DB, openStore } from './store/index.ts';

type AssayOutcome = NonNullable<Awaited<ReturnType<AssayService['runWindow']>>>;
type MonitorOutcome = NonNullable<Awaited<ReturnType<MonitorService['runWindow']>>>;

export interface PlatformOptions {
  dataDir: string;
  /** A postgres:// URL: state and inference logs live there instead of SQLite in dataDir (artifacts stay in dataDir). */
  database?: string;
  /** Where model artifacts live (default: the data directory). */
  artifacts?: ArtifactOptions;
  logs?: LogWriterOptions;
  /** Assay scheduler and alert delivery settings. */
  assays?: MonitoringOptions;
  /** Where custom code (js, python steps) runs: the sandbox, or without one when explicitly allowed. */
  customCode?: Pick<SandboxSettings, 'unsandboxed' | 'bwrap' | 'python' | 'cacheDir'>;
  /** Following changes made through other servers on the same database. */
  sync?: SyncOptions;
}

/**
 * Where custom code's environments and artifact copies are cached by default: `cache/` in the
 * data dir, so they survive restarts with it. The sandbox's user reads them, so where it
 * cannot enter the data dir (a server running as root over a private dir), a dir of this
 * data dir's own under /var/cache/bettong instead.
 */
export function defaultCacheDir(dataDir: string): string {
  const real = fs.realpathSync(dataDir);
  if (process.getuid?.() !== 0 || enterableByOthers(real)) return path.join(real, 'cache');
  return path.join('/var/cache/bettong', crypto.createHash('sha256').update(real).digest('hex').slice(0, 16));
}

function enterableByOthers(dir: string): boolean {
  for (let d = dir; ; d = path.dirname(d)) {
    if ((fs.statSync(d).mode & 0o001) === 0) return false;
    if (d === path.dirname(d)) return true;
  }
}

export interface Platform {
  db: DB;
  registry: ModelRegistry;
  pipelines: PipelineService;
  deployments: DeploymentService;
  inference: InferenceService;
  logs: InferenceLogWriter;
  assays: AssayService;
  assayScheduler: AssayScheduler<AssayOutcome>;
  feedback: FeedbackService;
  monitors: MonitorService;
  monitorScheduler: AssayScheduler<MonitorOutcome>;
  access: AccessService;
  metrics: Metrics;
  close(): Promise<void>;
}

export async function openPlatform(opts: PlatformOptions): Promise<Platform> {
  const db = await openStore(opts.dataDir, opts.database);
  let artifacts: ArtifactStore;
  try {
    artifacts = await openArtifacts({ ...opts.artifacts, dataDir: opts.dataDir, db });
  } catch (e) {
    await db.destroy();
    throw e;
  }
  const customCode = { ...opts.customCode, cacheDir: opts.customCode?.cacheDir ?? defaultCacheDir(opts.dataDir) };
  const registry = new ModelRegistry(db, artifacts, customCode);
  const pipelines = new PipelineService(db, registry);
  const deployments = new DeploymentService(db, pipelines, registry, customCode);
  const metrics = new Metrics();
  const logs = new InferenceLogWriter(db, { ...opts.logs, metrics });
  metrics.watch(deployments, () => logs.backlogRows);
  const inference = new InferenceService(deployments, logs, tracingEnabled() ? [metrics, new TraceObserver()] : [metrics]);
  const clock = opts.assays?.now ?? Date.now;
  const allowPrivateWebhooks = opts.assays?.allowPrivateWebhooks ?? false;
  const assays = new AssayService(db, pipelines, logs, clock, allowPrivateWebhooks);
  const leases = new Leases(db);
  const alerts = new AlertDispatcher(db, leases, { leaseMs: opts.assays?.leaseMs, ...opts.assays?.alerts, allowPrivateTargets: allowPrivateWebhooks }, clock);
  alerts.metrics = metrics;
  const assayScheduler = new AssayScheduler(assays, alerts, leases, opts.assays, clock);
  assayScheduler.onRun = (id, out) => metrics.assayRan(id, out.result.assay, out.result.status, out.result.score);
  assays.onChange = () => assayScheduler.wake();
  // Performance monitors: the same loop over their windows, their own alert table.
  const feedback = new FeedbackService(db, pipelines, logs, clock);
  const monitors = new MonitorService(db, pipelines, logs, feedback, clock, allowPrivateWebhooks, opts.assays?.recheckMs);
  const monitorAlerts = new AlertDispatcher(db, leases, { leaseMs: opts.assays?.leaseMs, ...opts.assays?.alerts, allowPrivateTargets: allowPrivateWebhooks }, clock, { table: 'performance_alerts', owner: 'monitor_id' });
  monitorAlerts.metrics = metrics;
  const monitorScheduler = new AssayScheduler(monitors, monitorAlerts, leases, { ...opts.assays, leaseName: 'monitor' }, clock);
  monitors.onChange = () => monitorScheduler.wake();
  // Labels that arrive may finish a pending window.
  feedback.onUpload = () => monitorScheduler.wake();
  // An archived workspace serves nothing: its pipelines are undeployed.
  const access = new AccessService(db, async (ws) => {
    for (const d of await deployments.list(ws)) await deployments.undeploy(ws, d.pipeline);
  });
  const sync = new ClusterSync(db, deployments, () => {
    assayScheduler.wake();
    monitorScheduler.wake();
  }, opts.sync);
  const close = async () => {
    await sync.stop();
    await assayScheduler.stop();
    await monitorScheduler.stop();
    await deployments.close();
    await logs.close();
    await artifacts.close();
    await db.destroy();
  };
  try {
    registry.resumeBuilds();
    await deployments.restore();
    await assayScheduler.start();
    await monitorScheduler.start();
    await sync.start();
  } catch (e) {
    // Model workers and timers started so far would keep the process alive.
    await close().catch(() => undefined);
    throw e;
  }
  return { db, registry, pipelines, deployments, inference, logs, assays, assayScheduler, feedback, monitors, monitorScheduler, access, metrics, close };
}
