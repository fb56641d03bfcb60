/**
 * Wires the domain services together over one data directory: the composition root that
 * the server, the tests and the CLI's `serve` share.
 */
import path from 'node:path';
import { AccessService } from './access/index.ts';
import { ArtifactStore } from './artifacts/index.ts';
import { DeploymentService } from './deployments/index.ts';
import { InferenceService } from './inference/index.ts';
import { InferenceLogWriter, type LogWriterOptions } from './logs/writer.ts';
import { AlertDispatcher, AssayScheduler, AssayService, type MonitoringOptions } from './monitoring/index.ts';
import { PipelineService } from './pipelines/index.ts';
import { ModelRegistry } from './registry/index.ts';
import type { SandboxSettings } from './runtimes/sandbox/index.ts';
import { type DB, openStore } from './store/index.ts';

export interface PlatformOptions {
  dataDir: string;
  logs?: LogWriterOptions;
  /** Assay scheduler and alert delivery settings. */
  assays?: MonitoringOptions;
  /** Where custom code (js, python steps) runs: the sandbox, or without one when explicitly allowed. */
  customCode?: Pick<SandboxSettings, 'unsandboxed' | 'bwrap' | 'python'>;
}

export interface Platform {
  db: DB;
  registry: ModelRegistry;
  pipelines: PipelineService;
  deployments: DeploymentService;
  inference: InferenceService;
  logs: InferenceLogWriter;
  assays: AssayService;
  assayScheduler: AssayScheduler;
  access: AccessService;
  close(): Promise<void>;
}

export async function openPlatform(opts: PlatformOptions): Promise<Platform> {
  const db = await openStore(opts.dataDir);
  const registry = new ModelRegistry(db, new ArtifactStore(path.join(opts.dataDir, 'artifacts')), opts.customCode);
  const pipelines = new PipelineService(db, registry);
  const deployments = new DeploymentService(db, pipelines, registry, opts.customCode);
  const logs = new InferenceLogWriter(db, opts.logs);
  const inference = new InferenceService(deployments, logs);
  const clock = opts.assays?.now ?? Date.now;
  const assays = new AssayService(db, pipelines, logs, clock);
  const assayScheduler = new AssayScheduler(assays, new AlertDispatcher(db, opts.assays?.alerts, clock), opts.assays, clock);
  assays.onChange = () => assayScheduler.wake();
  // An archived workspace serves nothing: its pipelines are undeployed.
  const access = new AccessService(db, async (ws) => {
    for (const d of await deployments.list(ws)) await deployments.undeploy(ws, d.pipeline);
  });
  await deployments.restore();
  await assayScheduler.start();
  return {
    db, registry, pipelines, deployments, inference, logs, assays, assayScheduler, access,
    async close() {
      await assayScheduler.stop();
      await deployments.close();
      await logs.close();
      await db.destroy();
    },
  };
}
