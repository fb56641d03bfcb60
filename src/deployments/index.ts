/**
 * Deployments: the desired state (which pipeline version runs, with what config) is stored,
 * and the live runners are kept in memory. On start the stored state is restored.
 */
import { fail } from '../errors/index.ts';
import { PipelineRunner } from '../inference/runner.ts';
import type { PipelineService, PipelineVersion } from '../pipelines/index.ts';
import type { ModelRegistry } from '../registry/index.ts';
import { getRuntime, type Model } from '../runtimes/index.ts';
import type { DB } from '../store/index.ts';

export interface DeploymentConfig {
  /** Loaded instances of every model in the pipeline, used in turn. */
  replicas: number;
  /** Threads each instance may use for one prediction. */
  threads: number;
}

export interface DeploymentStatus {
  pipeline: string;
  pipeline_version: number | null;
  status: 'running' | 'failed' | 'undeployed';
  config: DeploymentConfig | null;
  error?: string;
  updated_at: string | null;
}

export interface LiveDeployment {
  workspaceId: number;
  pipelineId: number;
  name: string;
  version: PipelineVersion;
  config: DeploymentConfig;
  runner: PipelineRunner;
}

export const DEFAULT_CONFIG: DeploymentConfig = { replicas: 1, threads: 1 };

function checkConfig(c: Partial<DeploymentConfig>): DeploymentConfig {
  const config = { ...DEFAULT_CONFIG, ...c };
  for (const [k, max] of [['replicas', 64], ['threads', 64]] as const) {
    const v = config[k];
    if (!Number.isInteger(v) || v < 1 || v > max) fail('INVALID_REQUEST', `${k} must be an integer in [1, ${max}], got ${v}`);
  }
  return config;
}

const key = (ws: number, name: string) => `${ws}/${name}`;

export class DeploymentService {
  private readonly live = new Map<string, LiveDeployment>();
  private readonly failures = new Map<string, string>();

  constructor(private readonly db: DB, private readonly pipelines: PipelineService, private readonly registry: ModelRegistry) {}

  private async load(version: PipelineVersion, config: DeploymentConfig): Promise<PipelineRunner> {
    const loaded: Model[][] = [];
    try {
      for (const step of version.steps) {
        const mv = await this.registry.getVersionById(step.model_version_id);
        const runtime = getRuntime(mv.runtime);
        const bytes = this.registry.readArtifact(mv);
        const replicas: Model[] = [];
        loaded.push(replicas);
        for (let i = 0; i < config.replicas; i++) replicas.push(await runtime.load(bytes, { intraOpThreads: config.threads }));
      }
    } catch (e) {
      await Promise.all(loaded.flat().map((m) => m.dispose()));
      throw e;
    }
    return new PipelineRunner(version, loaded);
  }

  /** Loads the version, then switches traffic to it; the previous runner drains and is released. */
  async deploy(workspaceId: number, name: string, opts: { version?: number } & Partial<DeploymentConfig> = {}): Promise<DeploymentStatus> {
    const { version: v, ...rest } = opts;
    const config = checkConfig(rest);
    const pipelineId = await this.pipelines.pipelineId(workspaceId, name);
    const version = await this.pipelines.getVersion(workspaceId, name, v);
    const runner = await this.load(version, config);
    const now = Date.now();
    await this.db.insertInto('deployments')
      .values({ workspace_id: workspaceId, pipeline_id: pipelineId, pipeline_version_id: version.id, config: JSON.stringify(config), desired: 'deployed', updated_at: now })
      .onConflict((oc) => oc.column('pipeline_id').doUpdateSet({
        pipeline_version_id: version.id, config: JSON.stringify(config), desired: 'deployed', updated_at: now,
      }))
      .execute();
    const k = key(workspaceId, name);
    const previous = this.live.get(k);
    this.live.set(k, { workspaceId, pipelineId, name, version, config, runner });
    this.failures.delete(k);
    if (previous) void previous.runner.retire();
    return this.status(workspaceId, name);
  }

  async undeploy(workspaceId: number, name: string): Promise<DeploymentStatus> {
    const pipelineId = await this.pipelines.pipelineId(workspaceId, name);
    await this.db.updateTable('deployments').set({ desired: 'undeployed', updated_at: Date.now() }).where('pipeline_id', '=', pipelineId).execute();
    const k = key(workspaceId, name);
    const previous = this.live.get(k);
    this.live.delete(k);
    this.failures.delete(k);
    if (previous) await previous.runner.retire();
    return this.status(workspaceId, name);
  }

  async status(workspaceId: number, name: string): Promise<DeploymentStatus> {
    const pipelineId = await this.pipelines.pipelineId(workspaceId, name);
    const row = await this.db.selectFrom('deployments').selectAll().where('pipeline_id', '=', pipelineId).executeTakeFirst();
    const k = key(workspaceId, name);
    const live = this.live.get(k);
    const base = { pipeline: name, updated_at: row ? new Date(Number(row.updated_at)).toISOString() : null };
    if (!row || row.desired !== 'deployed') return { ...base, pipeline_version: null, status: 'undeployed', config: null };
    const version = live?.version.version ?? (await this.pipelines.getVersionById(row.pipeline_version_id)).version;
    const failure = this.failures.get(k);
    return {
      ...base, pipeline_version: version, config: JSON.parse(row.config),
      status: live ? 'running' : 'failed', ...(failure && !live ? { error: failure } : {}),
    };
  }

  async list(workspaceId: number): Promise<DeploymentStatus[]> {
    const rows = await this.db.selectFrom('deployments as d').innerJoin('pipelines as p', 'p.id', 'd.pipeline_id')
      .select('p.name').where('d.workspace_id', '=', workspaceId).where('d.desired', '=', 'deployed').orderBy('p.name').execute();
    return Promise.all(rows.map((r) => this.status(workspaceId, r.name)));
  }

  /** The running deployment of a pipeline: 404 when there is no such pipeline, 409 when it is not deployed. */
  async get(workspaceId: number, name: string): Promise<LiveDeployment> {
    const live = this.live.get(key(workspaceId, name));
    if (live) return live;
    await this.pipelines.pipelineId(workspaceId, name);
    return fail('PIPELINE_NOT_DEPLOYED', `pipeline '${name}' is not deployed; deploy it with 'bettong pipeline deploy ${name}'`);
  }

  /** Brings back every deployment that was running before the restart. */
  async restore(): Promise<void> {
    const rows = await this.db.selectFrom('deployments as d').innerJoin('pipelines as p', 'p.id', 'd.pipeline_id')
      .select(['d.workspace_id', 'p.id as pipeline_id', 'p.name', 'd.pipeline_version_id', 'd.config'])
      .where('d.desired', '=', 'deployed').execute();
    for (const r of rows) {
      const k = key(r.workspace_id, r.name);
      try {
        const version = await this.pipelines.getVersionById(r.pipeline_version_id);
        const config = JSON.parse(r.config) as DeploymentConfig;
        const runner = await this.load(version, config);
        this.live.set(k, { workspaceId: r.workspace_id, pipelineId: r.pipeline_id, name: r.name, version, config, runner });
      } catch (e) {
        this.failures.set(k, (e as Error).message);
        console.error(`could not restore deployment of pipeline '${r.name}': ${(e as Error).message}`);
      }
    }
  }

  isReady(): boolean {
    return this.failures.size === 0;
  }

  async close(): Promise<void> {
    const all = [...this.live.values()];
    this.live.clear();
    await Promise.all(all.map((d) => d.runner.retire()));
  }
}
