/**
 * Pipelines: ordered steps, each a model version. Every change makes a new pipeline version;
 * versions are kept and never edited.
 */
import { fail } from '../errors/index.ts';
import type { ModelRegistry } from '../registry/index.ts';
import { checkName } from '../registry/index.ts';
import type { Signature } from '../runtimes/index.ts';
import type { DB } from '../store/index.ts';
import { type Wiring, wire } from './wiring.ts';

export interface StepRef {
  model: string;
  /** Omitted: the model's latest version at creation time, pinned in the pipeline version. */
  version?: number;
}

export interface PipelineStep {
  model: string;
  model_version: number;
  model_version_id: number;
  sha256: string;
  /** Absent for the first step, whose inputs are the pipeline's inputs. */
  wiring?: Wiring;
}

export interface PipelineVersion {
  id: number;
  pipeline: string;
  version: number;
  steps: PipelineStep[];
  signature: Signature;
  created_at: string;
}

export interface PipelineSummary {
  name: string;
  latest_version: number;
  created_at: string;
}

interface Definition {
  steps: PipelineStep[];
  signature: Signature;
}

function toVersion(pipeline: string, r: { id: number; version: number; definition: string; created_at: number }): PipelineVersion {
  const def = JSON.parse(r.definition) as Definition;
  return {
    id: r.id, pipeline, version: r.version, steps: def.steps, signature: def.signature,
    created_at: new Date(Number(r.created_at)).toISOString(),
  };
}

export class PipelineService {
  constructor(private readonly db: DB, private readonly registry: ModelRegistry) {}

  /** Creates the pipeline or a new version of it; unchanged steps return the latest version. */
  async create(workspaceId: number, name: string, refs: StepRef[]): Promise<{ version: PipelineVersion; created: boolean }> {
    checkName('pipeline', name);
    if (refs.length === 0) fail('INVALID_REQUEST', `pipeline '${name}' needs at least one step`);
    const steps: PipelineStep[] = [];
    const models = [];
    for (const [i, ref] of refs.entries()) {
      const mv = await this.registry.getVersion(workspaceId, ref.model, ref.version);
      const step: PipelineStep = { model: mv.model, model_version: mv.version, model_version_id: mv.id, sha256: mv.sha256 };
      if (i > 0) {
        const prev = models[i - 1];
        step.wiring = wire(`${i} (${prev.model})`, prev.signature.outputs, `${i + 1} (${mv.model})`, mv.signature.inputs);
      }
      steps.push(step);
      models.push(mv);
    }
    const definition: Definition = {
      steps,
      signature: { inputs: models[0].signature.inputs, outputs: models.at(-1)!.signature.outputs },
    };
    const text = JSON.stringify(definition);
    const now = Date.now();
    return this.db.transaction().execute(async (tx) => {
      let p = await tx.selectFrom('pipelines').select('id').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
      if (!p) p = await tx.insertInto('pipelines').values({ workspace_id: workspaceId, name, created_at: now }).returning('id').executeTakeFirstOrThrow();
      const latest = await tx.selectFrom('pipeline_versions').selectAll().where('pipeline_id', '=', p.id).orderBy('version', 'desc').limit(1).executeTakeFirst();
      if (latest && latest.definition === text) return { version: toVersion(name, latest), created: false };
      const row = await tx.insertInto('pipeline_versions')
        .values({ pipeline_id: p.id, version: (latest?.version ?? 0) + 1, definition: text, created_at: now })
        .returningAll().executeTakeFirstOrThrow();
      return { version: toVersion(name, row), created: true };
    });
  }

  async list(workspaceId: number): Promise<PipelineSummary[]> {
    const rows = await this.db.selectFrom('pipelines as p').innerJoin('pipeline_versions as v', 'v.pipeline_id', 'p.id')
      .select((eb) => ['p.name', 'p.created_at', eb.fn.max('v.version').as('latest')])
      .where('p.workspace_id', '=', workspaceId).groupBy(['p.id', 'p.name', 'p.created_at']).orderBy('p.name').execute();
    return rows.map((r) => ({ name: r.name, latest_version: Number(r.latest), created_at: new Date(Number(r.created_at)).toISOString() }));
  }

  async pipelineId(workspaceId: number, name: string): Promise<number> {
    const p = await this.db.selectFrom('pipelines').select('id').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
    return p?.id ?? fail('PIPELINE_NOT_FOUND', `pipeline '${name}' not found`);
  }

  async versions(workspaceId: number, name: string): Promise<PipelineVersion[]> {
    const id = await this.pipelineId(workspaceId, name);
    const rows = await this.db.selectFrom('pipeline_versions').selectAll().where('pipeline_id', '=', id).orderBy('version').execute();
    return rows.map((r) => toVersion(name, r));
  }

  /** A version by number; the latest when `version` is undefined. */
  async getVersion(workspaceId: number, name: string, version?: number): Promise<PipelineVersion> {
    const all = await this.versions(workspaceId, name);
    const v = version === undefined ? all.at(-1) : all.find((x) => x.version === version);
    return v ?? fail('PIPELINE_VERSION_NOT_FOUND', `pipeline '${name}' has no version ${version}`);
  }

  async getVersionById(id: number): Promise<PipelineVersion> {
    const r = await this.db.selectFrom('pipeline_versions as v').innerJoin('pipelines as p', 'p.id', 'v.pipeline_id')
      .select(['p.name', 'v.id', 'v.version', 'v.definition', 'v.created_at']).where('v.id', '=', id).executeTakeFirst();
    return r ? toVersion(r.name, r) : fail('PIPELINE_VERSION_NOT_FOUND', `pipeline version id ${id} not found`);
  }
}
