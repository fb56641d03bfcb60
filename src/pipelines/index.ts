/**
 * Pipelines: ordered steps (model, A/B, shadow) plus validation rules. Every change makes a
 * new pipeline version; versions are kept and never edited.
 */
import { fail } from '../errors/index.ts';
import type { ModelRegistry } from '../registry/index.ts';
import { checkName } from '../registry/index.ts';
import type { Signature } from '../runtimes/index.ts';
import type { DB } from '../store/index.ts';
import { lockName } from '../store/locks.ts';
import { compileRules } from '../validations/index.ts';
import { type ModelRef, type PipelineStep, type ResolvedModel, type StepSpec, label, resolveStep } from './steps.ts';
import { wire } from './wiring.ts';

export type { ArmRef, ModelRef, PipelineStep, ResolvedModel, StepSpec } from './steps.ts';
export { describeStep, label, stepModels } from './steps.ts';

export interface PipelineSpec {
  steps: StepSpec[];
  /** rule name -> expression that good rows satisfy */
  validations?: Record<string, string>;
}

export interface PipelineVersion {
  id: number;
  pipeline: string;
  version: number;
  steps: PipelineStep[];
  validations: Record<string, string>;
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
  validations: Record<string, string>;
  signature: Signature;
}

function toVersion(pipeline: string, r: { id: number; version: number; definition: string; created_at: number }): PipelineVersion {
  const def = JSON.parse(r.definition) as Definition;
  return {
    id: r.id, pipeline, version: r.version, steps: def.steps, validations: def.validations ?? {}, signature: def.signature,
    created_at: new Date(Number(r.created_at)).toISOString(),
  };
}

/** A resolved step turned back into a spec pinned to its versions (for editing one step). */
function specOf(step: PipelineStep): StepSpec {
  const ref = (m: ResolvedModel): ModelRef => ({ model: m.model, version: m.model_version });
  switch (step.kind) {
    case 'model': return ref(step);
    case 'shadow': return { shadow: { champion: ref(step.champion), challengers: step.challengers.map(ref) } };
    case 'ab': {
      const arms = step.arms.map((a) => ({ ...ref(a), weight: a.weight }));
      const labelOf = (i: number) => label(step.arms[i]);
      return {
        ab: {
          arms, split: step.split, key: step.key,
          mapping: step.mapping && Object.fromEntries(Object.entries(step.mapping).map(([v, i]) => [v, labelOf(i)])),
          default: step.default === undefined ? undefined : labelOf(step.default),
        },
      };
    }
  }
}

export class PipelineService {
  constructor(private readonly db: DB, private readonly registry: ModelRegistry) {}

  /** Creates the pipeline or a new version of it; an unchanged spec returns the latest version. */
  async create(workspaceId: number, name: string, spec: PipelineSpec): Promise<{ version: PipelineVersion; created: boolean }> {
    checkName('pipeline', name);
    if (!Array.isArray(spec.steps) || spec.steps.length === 0) fail('INVALID_REQUEST', `pipeline '${name}' needs at least one step`);
    const steps: PipelineStep[] = [];
    const signatures: Signature[] = [];
    for (const [i, s] of spec.steps.entries()) {
      const { step, signature } = await resolveStep(this.registry, workspaceId, s, `step ${i + 1}`);
      if (i > 0) {
        step.wiring = wire(`${i}`, signatures[i - 1].outputs, `${i + 1}`, signature.inputs);
      }
      steps.push(step);
      signatures.push(signature);
    }
    const signature: Signature = { inputs: signatures[0].inputs, outputs: signatures.at(-1)!.outputs };
    const validations = spec.validations ?? {};
    compileRules(validations, signature);
    const text = JSON.stringify({ steps, validations, signature } satisfies Definition);
    const now = Date.now();
    return this.db.transaction().execute(async (tx) => {
      await lockName(tx, `pipeline ${workspaceId} ${name}`);
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

  /**
   * A new version of the pipeline with one step replaced: by a model step (hot swap, or
   * promoting a winner over an A/B or shadow step), or with one arm / champion / challenger
   * of that step replaced when `replace` names it.
   */
  async replaceStep(workspaceId: number, name: string, base: PipelineVersion, step: number, by: ModelRef, replace?: string): Promise<PipelineVersion> {
    if (!Number.isInteger(step) || step < 1 || step > base.steps.length) {
      fail('INVALID_REQUEST', `step must be between 1 and ${base.steps.length}, got ${step}`);
    }
    const specs = base.steps.map(specOf);
    if (replace === undefined) {
      specs[step - 1] = by;
    } else {
      const target = specs[step - 1];
      const matches = (m: ModelRef) => m.model === replace || `${m.model}:${m.version}` === replace;
      const swapIn = <T extends ModelRef>(m: T): T => (matches(m) ? { ...m, model: by.model, version: by.version } : m);
      let found = false;
      const mark = <T extends ModelRef>(m: T): T => { if (matches(m)) found = true; return swapIn(m); };
      if ('ab' in target) target.ab.arms = target.ab.arms.map(mark);
      else if ('shadow' in target) target.shadow = { champion: mark(target.shadow.champion), challengers: target.shadow.challengers.map(mark) };
      else specs[step - 1] = mark(target as ModelRef);
      if (!found) fail('INVALID_REQUEST', `step ${step} has no model '${replace}'`);
    }
    return (await this.create(workspaceId, name, { steps: specs, validations: base.validations })).version;
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
