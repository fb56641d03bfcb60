/**
 * Deployments: the desired state (which pipeline version runs, with what config) is stored,
 * and the live runners are kept in memory. On start the stored state is restored, and then
 * reconciled again and again (cluster/sync.ts): a deploy, swap or undeploy made through another
 * server on the same database runs here too.
 */
import { fail } from '../errors/index.ts';
import { Batcher } from '../inference/batcher.ts';
import { type Artifacts, type LoadOptions, loadRunner } from '../inference/load.ts';
import { ReplicaPool } from '../inference/replicas.ts';
import type { Runner } from '../inference/runner.ts';
import { type ModelRef, type PipelineService, type PipelineVersion, stepModels } from '../pipelines/index.ts';
import type { ModelRegistry } from '../registry/index.ts';
import { DEFAULT_MEMORY_MB, type SandboxSettings } from '../runtimes/sandbox/index.ts';
import type { DB } from '../store/index.ts';
import { compileRules, type Rule } from '../validations/index.ts';

export interface DeploymentConfig {
  /**
   * Inference workers: N worker threads, each running the whole pipeline, so a deployment
   * uses N cores; 0 runs the pipeline in the server's own thread (least latency for tiny models).
   */
  replicas: number;
  /** Threads each instance may use for one prediction. */
  threads: number;
  /** Longest a custom-code (JavaScript, Python) step may take for one call before the request fails. */
  step_timeout_ms: number;
  /** Memory of each custom-code step's worker process, MiB: past it the call fails with STEP_OUT_OF_MEMORY. */
  memory_mb: number;
  /** CPU time each custom-code worker process may use in its life, s (0: no limit); past it the worker is restarted. */
  cpu_seconds: number;
  /** Longest the log waits for a shadow challenger; it never delays the answer. */
  shadow_timeout_ms: number;
  /** Dynamic batching: most rows in one coalesced run (1: off). */
  max_batch_size: number;
  /** Dynamic batching: longest a request waits for others to join its run. */
  max_delay_ms: number;
}

export interface DeploymentStatus {
  pipeline: string;
  pipeline_version: number | null;
  /** `loading`: deployed, and this server is loading it (a change made through another server, seen by the sync). */
  status: 'running' | 'loading' | 'failed' | 'undeployed';
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
  runner: Runner;
  rules: Rule[];
}

export interface SwapRequest {
  /** 1-based step to change. */
  step: number;
  /** The model (version) that takes the step, or the named model's place within it. */
  model: string;
  version?: number;
  /** In an A/B or shadow step: the arm, champion or challenger to replace (name or name:version). */
  replace?: string;
}

export const DEFAULT_CONFIG: DeploymentConfig = {
  replicas: 1, threads: 1, step_timeout_ms: 5000, memory_mb: DEFAULT_MEMORY_MB, cpu_seconds: 0, shadow_timeout_ms: 10_000, max_batch_size: 1, max_delay_ms: 2,
};

function checkConfig(c: Partial<DeploymentConfig>): DeploymentConfig {
  const given = Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined));
  const config = { ...DEFAULT_CONFIG, ...given };
  const limits = [['replicas', 0, 64], ['threads', 1, 64], ['step_timeout_ms', 1, 600_000], ['memory_mb', 64, 1_048_576], ['cpu_seconds', 0, 86_400], ['shadow_timeout_ms', 1, 600_000],
    ['max_batch_size', 1, 65_536], ['max_delay_ms', 0, 10_000]] as const;
  for (const [k, min, max] of limits) {
    const v = config[k];
    if (!Number.isInteger(v) || v < min || v > max) fail('INVALID_REQUEST', `${k} must be an integer in [${min}, ${max}], got ${v}`);
  }
  return config;
}

const key = (ws: number, name: string) => `${ws}/${name}`;
/** A stored deployment's identity: its version and full config, as a live one's is compared. */
const what = (r: DesiredRow) => JSON.stringify([r.pipeline_version_id, { ...DEFAULT_CONFIG, ...JSON.parse(r.config) }]);

/** A deployment row as reconciling reads it. */
interface DesiredRow { workspace_id: number; pipeline_id: number; name: string; pipeline_version_id: number; config: string }

/** A failed load is tried again after this long (or at once when the stored deployment changes). */
const RETRY_FAILED_MS = 30_000;

export class DeploymentService {
  private readonly live = new Map<string, LiveDeployment>();
  private readonly failures = new Map<string, string>();
  /** What a failed load was of (version and config) and when, so reconciling does not retry it on every pass. */
  private readonly failedAt = new Map<string, { what: string; at: number }>();
  /** Per deployment: the change being made to it here; the next one waits for it. */
  private readonly changing = new Map<string, Promise<unknown>>();

  constructor(
    private readonly db: DB, private readonly pipelines: PipelineService, private readonly registry: ModelRegistry,
    private readonly customCode: SandboxSettings = {},
  ) {}

  private async load(version: PipelineVersion, config: DeploymentConfig): Promise<Runner> {
    const artifacts: Artifacts = new Map();
    for (const ref of version.steps.flatMap(stepModels)) {
      const mv = await this.registry.getVersionById(ref.model_version_id);
      artifacts.set(mv.id, { runtime: mv.runtime, bytes: await this.registry.readArtifact(mv), network: mv.network });
    }
    const opts: LoadOptions = {
      threads: config.threads, stepTimeoutMs: config.step_timeout_ms, shadowTimeoutMs: config.shadow_timeout_ms,
      sandbox: { ...this.customCode, memoryMb: config.memory_mb, cpuSeconds: config.cpu_seconds },
    };
    const runner = config.replicas === 0
      ? await loadRunner(version, artifacts, opts)
      : await ReplicaPool.start(version, artifacts, opts, config.replicas);
    return config.max_batch_size > 1 ? new Batcher(runner, config) : runner;
  }

  private liveOf(workspaceId: number, pipelineId: number, name: string, version: PipelineVersion, config: DeploymentConfig, runner: Runner): LiveDeployment {
    return { workspaceId, pipelineId, name, version, config, runner, rules: compileRules(version.validations, version.signature) };
  }

  /** Loads the version, then switches traffic to it; the previous runner drains and is released. */
  async deploy(workspaceId: number, name: string, opts: { version?: number } & Partial<DeploymentConfig> = {}): Promise<DeploymentStatus> {
    return this.exclusive(key(workspaceId, name), () => this.deployNow(workspaceId, name, opts));
  }

  private async deployNow(workspaceId: number, name: string, opts: { version?: number } & Partial<DeploymentConfig>): Promise<DeploymentStatus> {
    const { version: v, ...rest } = opts;
    const previousConfig = this.live.get(key(workspaceId, name))?.config;
    const config = checkConfig({ ...previousConfig, ...rest });
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
    this.live.set(k, this.liveOf(workspaceId, pipelineId, name, version, config, runner));
    this.forgetFailure(k);
    if (previous) void previous.runner.retire();
    return this.status(workspaceId, name);
  }

  /**
   * Hot swap: a new pipeline version with one step's model replaced, loaded beside the running
   * one and switched to in one step. Requests already running finish on the old version; none
   * is dropped. Answers switch as soon as the new models are loaded (`swap_ms`).
   */
  async swap(workspaceId: number, name: string, req: SwapRequest): Promise<DeploymentStatus & { swap_ms: number }> {
    const started = performance.now();
    const live = this.live.get(key(workspaceId, name));
    const base = live?.version ?? await this.pipelines.getVersion(workspaceId, name);
    const by: ModelRef = { model: req.model, version: req.version };
    const next = await this.pipelines.replaceStep(workspaceId, name, base, req.step, by, req.replace);
    const status = live ? await this.deploy(workspaceId, name, { version: next.version }) : await this.status(workspaceId, name);
    return { ...status, pipeline_version: live ? status.pipeline_version : next.version, swap_ms: Math.round(performance.now() - started) };
  }

  async undeploy(workspaceId: number, name: string): Promise<DeploymentStatus> {
    const pipelineId = await this.pipelines.pipelineId(workspaceId, name);
    const k = key(workspaceId, name);
    await this.exclusive(k, async () => {
      await this.db.updateTable('deployments').set({ desired: 'undeployed', updated_at: Date.now() }).where('pipeline_id', '=', pipelineId).execute();
      await this.stop(k);
    });
    return this.status(workspaceId, name);
  }

  private async stop(k: string): Promise<void> {
    const previous = this.live.get(k);
    this.live.delete(k);
    this.forgetFailure(k);
    if (previous) await previous.runner.retire();
  }

  private forgetFailure(k: string): void {
    this.failures.delete(k);
    this.failedAt.delete(k);
  }

  /** Runs one change of a deployment after those already under way: a local deploy and a reconcile never load it twice. */
  private exclusive<T>(k: string, change: () => Promise<T>): Promise<T> {
    const run = (this.changing.get(k) ?? Promise.resolve()).catch(() => undefined).then(change);
    const settled = run.catch(() => undefined);
    this.changing.set(k, settled);
    void settled.then(() => { if (this.changing.get(k) === settled) this.changing.delete(k); });
    return run;
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
      status: live ? 'running' : failure ? 'failed' : 'loading', ...(failure && !live ? { error: failure } : {}),
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
    await this.reconcile();
  }

  private desired() {
    return this.db.selectFrom('deployments as d').innerJoin('pipelines as p', 'p.id', 'd.pipeline_id')
      .select(['d.workspace_id', 'p.id as pipeline_id', 'p.name', 'd.pipeline_version_id', 'd.config'])
      .where('d.desired', '=', 'deployed');
  }

  /**
   * Makes what runs here what the deployments table says: loads deployments that are missing or
   * whose version or config changed (another server deployed or swapped), retires those no longer
   * deployed. One query when nothing changed; changes run one at a time per deployment.
   */
  async reconcile(): Promise<void> {
    const rows = await this.desired().execute();
    const wanted = new Map(rows.map((r) => [key(r.workspace_id, r.name), r]));
    for (const k of [...this.live.keys(), ...this.failures.keys()]) {
      if (!wanted.has(k)) await this.exclusive(k, () => this.apply(k));
    }
    for (const [k, r] of wanted) {
      if (this.matches(k, r)) continue;
      const failed = this.failedAt.get(k);
      if (failed && failed.what === what(r) && Date.now() - failed.at < RETRY_FAILED_MS) continue;
      await this.exclusive(k, () => this.apply(k));
    }
  }

  private matches(k: string, r: DesiredRow): boolean {
    const live = this.live.get(k);
    return live !== undefined && what(r) === JSON.stringify([live.version.id, live.config]);
  }

  /** Reconciles one deployment with its row as it is now (a local change may have landed since the list was read). */
  private async apply(k: string): Promise<void> {
    const [ws, ...rest] = k.split('/');
    const r = await this.desired().where('d.workspace_id', '=', Number(ws)).where('p.name', '=', rest.join('/')).executeTakeFirst();
    if (!r) return this.stop(k);
    if (this.matches(k, r)) return;
    try {
      const version = await this.pipelines.getVersionById(r.pipeline_version_id);
      const config = { ...DEFAULT_CONFIG, ...JSON.parse(r.config) } as DeploymentConfig;
      const runner = await this.load(version, config);
      const previous = this.live.get(k);
      this.live.set(k, this.liveOf(r.workspace_id, r.pipeline_id, r.name, version, config, runner));
      this.forgetFailure(k);
      if (previous) void previous.runner.retire();
    } catch (e) {
      const message = (e as Error).message;
      if (this.failures.get(k) !== message) console.error(`could not load deployment of pipeline '${r.name}': ${message}`);
      this.failures.set(k, message);
      this.failedAt.set(k, { what: what(r), at: Date.now() });
    }
  }

  /** Every running deployment (for metrics read at scrape time). */
  running(): IterableIterator<LiveDeployment> {
    return this.live.values();
  }

  /** The running deployment of a pipeline, if there is one; no lookups. */
  runningOne(workspaceId: number, name: string): LiveDeployment | undefined {
    return this.live.get(key(workspaceId, name));
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
