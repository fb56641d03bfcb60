/**
 * The model registry: models and their versions. An upload is inspected by its runtime
 * before anything is stored, so a corrupt file leaves no trace.
 */
import type { ArtifactStore } from '../artifacts/index.ts';
import { sha256 } from '../artifacts/index.ts';
import { fail } from '../errors/index.ts';
import { type EnvironmentBuild, getRuntime, type Runtime, type RuntimeConfig, type SandboxSettings, type Signature } from '../runtimes/index.ts';
import type { DB } from '../store/index.ts';
import { lockName } from '../store/locks.ts';

export interface ModelVersion {
  id: number;
  model: string;
  version: number;
  sha256: string;
  size: number;
  runtime: string;
  platform: string;
  signature: Signature;
  /** Custom code (js, python) allowed to open network connections; off by default. */
  network: boolean;
  /** `building` while a Python model's environment (requirements.txt) is built; then `ready` or `failed`. */
  status: 'ready' | 'building' | 'failed';
  created_at: string;
}

export interface ModelSummary {
  name: string;
  latest_version: number;
  versions: number;
  created_at: string;
}

export interface ModelDetail {
  name: string;
  created_at: string;
  versions: ModelVersion[];
}

/** The longest name of anything (model, pipeline, assay, workspace, user, token): the one limit, which the router's path-segment limit is derived from. */
export const NAME_MAX_LENGTH = 128;
export const NAME = new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,${NAME_MAX_LENGTH - 1}}$`);

export function checkName(kind: string, name: string): void {
  if (!NAME.test(name)) {
    fail('INVALID_NAME', `${kind} name '${name}' is invalid: use letters, digits, '_', '.', '-' (at most ${NAME_MAX_LENGTH}, starting with a letter or digit)`);
  }
}

type VersionRow = {
  id: number; version: number; sha256: string; size: number; runtime: string; signature: string; network: number; status: string; created_at: number;
};

function toVersion(model: string, r: VersionRow): ModelVersion {
  return {
    id: r.id, model, version: r.version, sha256: r.sha256, size: Number(r.size), runtime: r.runtime,
    platform: getRuntime(r.runtime).platform, signature: JSON.parse(r.signature), network: Number(r.network) === 1,
    status: r.status as ModelVersion['status'],
    created_at: new Date(Number(r.created_at)).toISOString(),
  };
}

export class ModelRegistry {
  private readonly registering = new Map<string, Promise<unknown>>();

  constructor(private readonly db: DB, private readonly artifacts: ArtifactStore, private readonly customCode: SandboxSettings = {}) {}

  /**
   * Registers an artifact; identical content (and network permission) returns the existing
   * version (created: false). `network` lets custom code open connections when it serves.
   */
  async upload(workspaceId: number, name: string, bytes: Uint8Array, runtimeName = 'onnx', opts: { network?: boolean } = {}): Promise<{ version: ModelVersion; created: boolean }> {
    checkName('model', name);
    if (bytes.length === 0) fail('INVALID_MODEL', 'the uploaded model file is empty');
    const runtime = getRuntime(runtimeName);
    const network = opts.network === true;
    if (network && runtime.name === 'onnx') fail('INVALID_REQUEST', "network applies to custom code (runtime js or python), not to 'onnx' models");
    const config = { name: `${name} (upload)`, sandbox: this.customCode };
    const digest = sha256(bytes);
    // A model whose environment is not built yet is registered as `building`; the build goes on after the answer.
    const env = await runtime.environment?.(bytes, config);
    const building = env !== undefined && !env.ready;
    // Custom code is read in its sandbox, like when it serves: an upload runs nothing in the server.
    const signature = building ? { inputs: [], outputs: [] } : await runtime.inspect(bytes, config);
    return this.oneAtATime(digest, () => this.record(workspaceId, name, bytes, digest, { runtime, signature, network, env: building ? env : undefined, config }));
  }

  /**
   * Registrations of the same content run one after another, so one whose database write fails
   * never removes the file another is registering.
   */
  private async oneAtATime<T>(digest: string, f: () => Promise<T>): Promise<T> {
    const run = (this.registering.get(digest) ?? Promise.resolve()).catch(() => undefined).then(f);
    this.registering.set(digest, run);
    try {
      return await run;
    } finally {
      if (this.registering.get(digest) === run) this.registering.delete(digest);
    }
  }

  private async record(workspaceId: number, name: string, bytes: Uint8Array, digest: string,
    { runtime, signature, network, env, config }: { runtime: Runtime; signature: Signature; network: boolean; env?: EnvironmentBuild; config: RuntimeConfig }) {
    const building = env !== undefined;
    const existing = await this.db.selectFrom('model_versions as v').innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['v.id', 'v.version', 'v.sha256', 'v.size', 'v.runtime', 'v.signature', 'v.network', 'v.status', 'v.created_at'])
      .where('m.workspace_id', '=', workspaceId).where('m.name', '=', name).where('v.sha256', '=', digest).where('v.network', '=', network ? 1 : 0)
      .where('v.status', '!=', 'failed')
      .executeTakeFirst();
    if (existing) return { version: toVersion(name, existing), created: false };

    const { created } = await this.artifacts.put(bytes);
    const now = Date.now();
    const row = await this.db.transaction().execute(async (tx) => {
      await lockName(tx, `model ${workspaceId} ${name}`);
      let model = await tx.selectFrom('models').select('id').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
      if (!model) {
        model = await tx.insertInto('models').values({ workspace_id: workspaceId, name, created_at: now }).returning('id').executeTakeFirstOrThrow();
      }
      const last = await tx.selectFrom('model_versions').select((eb) => eb.fn.max('version').as('v')).where('model_id', '=', model.id).executeTakeFirst();
      const version = Number(last?.v ?? 0) + 1;
      return tx.insertInto('model_versions').values({
        model_id: model.id, version, sha256: digest, size: bytes.length, runtime: runtime.name,
        signature: JSON.stringify(signature), network: network ? 1 : 0, status: building ? 'building' : 'ready', created_at: now,
      }).returning(['id', 'version', 'sha256', 'size', 'runtime', 'signature', 'network', 'status', 'created_at']).executeTakeFirstOrThrow();
    }).catch(async (e) => {
      // The version was not recorded: the file written for it goes too, unless another version shares the content.
      if (created && !(await this.db.selectFrom('model_versions').select('id').where('sha256', '=', digest).executeTakeFirst().catch(() => ({ id: 0 })))) {
        await this.artifacts.remove(digest);
      }
      throw e;
    });
    if (env) void this.finishBuild(row.id, env, runtime, bytes, config);
    return { version: toVersion(name, row), created: true };
  }

  /** Builds the environment, then reads the signature with it: the version becomes `ready`, or `failed` with the reason. */
  private async finishBuild(id: number, env: EnvironmentBuild, runtime: Runtime, bytes: Uint8Array, config: RuntimeConfig): Promise<void> {
    const { ok, log } = await env.build().catch((e: Error) => ({ ok: false, log: e.message }));
    let update: { status: string; build_log: string; signature?: string } = { status: 'failed', build_log: log };
    if (ok) {
      try {
        update = { status: 'ready', build_log: log, signature: JSON.stringify(await runtime.inspect(bytes, config)) };
      } catch (e) {
        update = { status: 'failed', build_log: `${log}\nthe environment built, but the model did not load: ${(e as Error).message}\n` };
      }
    }
    await this.db.updateTable('model_versions').set(update).where('id', '=', id).execute().catch(() => undefined);
  }

  /**
   * Builds left `building` by a server that stopped mid-build (a crash, a kill) start again:
   * each such version becomes `ready` or `failed` with its log, as after an upload.
   */
  resumeBuilds(): void {
    void (async () => {
      const rows = await this.db.selectFrom('model_versions as v').innerJoin('models as m', 'm.id', 'v.model_id')
        .select(['m.name', 'v.id', 'v.sha256', 'v.runtime']).where('v.status', '=', 'building').execute();
      for (const r of rows) {
        const runtime = getRuntime(r.runtime);
        const config = { name: `${r.name} (build)`, sandbox: this.customCode };
        const failed = (why: string) => this.db.updateTable('model_versions').set({ status: 'failed', build_log: `the build could not start again after a restart: ${why}\n` })
          .where('id', '=', r.id).execute();
        try {
          const bytes = await this.artifacts.read(r.sha256);
          const env = await runtime.environment?.(bytes, config);
          // Built before the stop (only the status was not written): not built again, as models may be using it.
          const build = env && !env.ready ? env : { ready: true, build: async () => ({ ok: true, log: 'the environment was built before the server restarted\n' }) };
          void this.finishBuild(r.id, build, runtime, bytes, config);
        } catch (e) {
          await failed((e as Error).message);
        }
      }
    })().catch((e: Error) => process.stderr.write(`resuming environment builds failed: ${e.message}\n`));
  }

  /** A version's environment build: its status and log (empty for models without one). */
  async build(workspaceId: number, name: string, version: number): Promise<{ status: ModelVersion['status']; log: string }> {
    const v = await this.getVersion(workspaceId, name, version);
    const row = await this.db.selectFrom('model_versions').select(['build_log']).where('id', '=', v.id).executeTakeFirstOrThrow();
    return { status: v.status, log: row.build_log ?? '' };
  }

  async list(workspaceId: number): Promise<ModelSummary[]> {
    const rows = await this.db.selectFrom('models as m').innerJoin('model_versions as v', 'v.model_id', 'm.id')
      .select((eb) => ['m.name', 'm.created_at', eb.fn.max('v.version').as('latest'), eb.fn.count('v.id').as('n')])
      .where('m.workspace_id', '=', workspaceId).groupBy(['m.id', 'm.name', 'm.created_at']).orderBy('m.name').execute();
    return rows.map((r) => ({
      name: r.name, latest_version: Number(r.latest), versions: Number(r.n), created_at: new Date(Number(r.created_at)).toISOString(),
    }));
  }

  async get(workspaceId: number, name: string): Promise<ModelDetail> {
    const model = await this.db.selectFrom('models').selectAll().where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
    if (!model) return fail('MODEL_NOT_FOUND', `model '${name}' not found`);
    const rows = await this.db.selectFrom('model_versions').selectAll().where('model_id', '=', model.id).orderBy('version').execute();
    return { name, created_at: new Date(Number(model.created_at)).toISOString(), versions: rows.map((r) => toVersion(name, r)) };
  }

  /** A version by number; the latest when `version` is undefined. */
  async getVersion(workspaceId: number, name: string, version?: number): Promise<ModelVersion> {
    const detail = await this.get(workspaceId, name);
    const v = version === undefined ? detail.versions.at(-1) : detail.versions.find((x) => x.version === version);
    return v ?? fail('MODEL_VERSION_NOT_FOUND', `model '${name}' has no version ${version}`);
  }

  async getVersionById(id: number): Promise<ModelVersion> {
    const r = await this.db.selectFrom('model_versions as v').innerJoin('models as m', 'm.id', 'v.model_id')
      .select(['m.name', 'v.id', 'v.version', 'v.sha256', 'v.size', 'v.runtime', 'v.signature', 'v.network', 'v.status', 'v.created_at'])
      .where('v.id', '=', id).executeTakeFirst();
    return r ? toVersion(r.name, r) : fail('MODEL_VERSION_NOT_FOUND', `model version id ${id} not found`);
  }

  readArtifact(v: ModelVersion): Promise<Buffer> {
    return this.artifacts.read(v.sha256);
  }

  artifactStream(v: ModelVersion) {
    return this.artifacts.stream(v.sha256);
  }
}
