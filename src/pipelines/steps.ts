/**
 * Step kinds. A pipeline version stores its steps resolved to model version ids, so it
 * always runs exactly what it was created with.
 *
 * - model:  one model (ONNX or JavaScript) runs every row.
 * - ab:     each row goes to one arm, by weighted random choice (sticky when a key is hashed)
 *           or by a key's value mapped to arms; arms must share inputs and outputs.
 * - shadow: the champion answers; challengers see the same rows and are only logged.
 */
import { fail } from '../errors/index.ts';
import type { ModelRegistry, ModelVersion } from '../registry/index.ts';
import type { Signature, TensorSpec } from '../runtimes/index.ts';
import type { Wiring } from './wiring.ts';

export interface ModelRef {
  model: string;
  /** Omitted: the latest version at creation time, pinned in the pipeline version. */
  version?: number;
}

export interface ArmRef extends ModelRef {
  /** Relative weight for random splits (default 1). */
  weight?: number;
}

/** What a user asks for (REST body, CLI flags, SDK). */
export type StepSpec =
  | ModelRef
  | {
    ab: {
      arms: ArmRef[];
      /** "random" (default) or "key". */
      split?: 'random' | 'key';
      /** `metadata.<name>` or `in.<name>`: hashed for a sticky random split, looked up for a key split. */
      key?: string;
      /** key split: key value -> arm (a model name, or model:version). */
      mapping?: Record<string, string>;
      /** key split: the arm for values not in the mapping (default: the first arm). */
      default?: string;
    };
  }
  | { shadow: { champion: ModelRef; challengers: ModelRef[] } };

export interface ResolvedModel {
  model: string;
  model_version: number;
  model_version_id: number;
  sha256: string;
}

interface StepBase {
  /** Absent for the first step, whose inputs are the pipeline's inputs. */
  wiring?: Wiring;
}

export type PipelineStep =
  | (StepBase & { kind: 'model' } & ResolvedModel)
  | (StepBase & {
    kind: 'ab';
    split: 'random' | 'key';
    arms: (ResolvedModel & { weight: number })[];
    key?: string;
    /** key value -> arm index */
    mapping?: Record<string, number>;
    default?: number;
  })
  | (StepBase & { kind: 'shadow'; champion: ResolvedModel; challengers: ResolvedModel[] });

export const label = (m: ResolvedModel) => `${m.model}:${m.model_version}`;

const resolved = (mv: ModelVersion): ResolvedModel => ({ model: mv.model, model_version: mv.version, model_version_id: mv.id, sha256: mv.sha256 });

const specList = (specs: TensorSpec[]) => specs.map((s) => `${s.name}:${s.datatype}`).join(', ');

function sameTensors(a: TensorSpec[], b: TensorSpec[]): boolean {
  return a.length === b.length && a.every((s) => b.some((t) => t.name === s.name && t.datatype === s.datatype && t.shape.length === s.shape.length));
}

export function checkKey(where: string, key: string | undefined, inputs: TensorSpec[]): void {
  if (key === undefined) return;
  const m = /^(metadata|in)\.(.+)$/.exec(key);
  if (!m) fail('INVALID_PIPELINE', `${where}: key '${key}' must be metadata.<name> or in.<input>`);
  if (m![1] === 'in') {
    const spec = inputs.find((s) => s.name === m![2]);
    if (!spec) fail('INVALID_PIPELINE', `${where}: key '${key}' names no input of the step; its inputs are ${specList(inputs)}`);
    if (spec!.shape.length > 1) fail('INVALID_PIPELINE', `${where}: key input '${spec!.name}' must hold one value per row`);
  }
}

/** Resolves one step spec against the registry; returns the step and the signature it presents. */
export async function resolveStep(
  registry: ModelRegistry, workspaceId: number, spec: StepSpec, where: string,
): Promise<{ step: PipelineStep; signature: Signature }> {
  const get = async (r: ModelRef) => {
    // Step specs are free-form in the request schema: their types are checked here, never coerced.
    if (typeof r.model !== 'string') fail('INVALID_PIPELINE', `${where}: 'model' must be a model name, got ${JSON.stringify(r.model)}`);
    if (r.version !== undefined && !(Number.isInteger(r.version) && r.version >= 1)) {
      fail('INVALID_PIPELINE', `${where}: 'version' of model '${r.model}' must be a positive integer, got ${JSON.stringify(r.version)}`);
    }
    const v = await registry.getVersion(workspaceId, r.model, r.version);
    if (v.status !== 'ready') {
      fail('MODEL_NOT_READY', `${where}: model '${v.model}' version ${v.version} is ${v.status === 'building' ? 'still building its environment' : 'failed: its environment did not build'} (GET /v1/models/${v.model}/versions/${v.version}/build)`);
    }
    return v;
  };
  if ('ab' in spec) {
    const ab = spec.ab;
    if (!Array.isArray(ab.arms) || ab.arms.length < 2) fail('INVALID_PIPELINE', `${where}: an A/B step needs at least two arms`);
    const arms = [];
    for (const a of ab.arms) arms.push({ ...resolved(await get(a)), weight: a.weight ?? 1, signature: (await get(a)).signature });
    for (const a of arms) {
      if (!(a.weight > 0) || !Number.isFinite(a.weight)) fail('INVALID_PIPELINE', `${where}: arm ${label(a)} needs a positive weight`);
      if (!sameTensors(a.signature.inputs, arms[0].signature.inputs) || !sameTensors(a.signature.outputs, arms[0].signature.outputs)) {
        fail('INVALID_PIPELINE', `${where}: arm ${label(a)} (inputs ${specList(a.signature.inputs)}; outputs ${specList(a.signature.outputs)}) ` +
          `does not match arm ${label(arms[0])} (inputs ${specList(arms[0].signature.inputs)}; outputs ${specList(arms[0].signature.outputs)})`);
      }
    }
    const labels = arms.map(label);
    if (new Set(labels).size !== labels.length) fail('INVALID_PIPELINE', `${where}: an arm is listed twice`);
    const armIndex = (name: string) => {
      const i = labels.findIndex((l) => l === name || l.split(':')[0] === name);
      return i >= 0 ? i : fail('INVALID_PIPELINE', `${where}: '${name}' is not an arm; arms: ${labels.join(', ')}`);
    };
    const split = ab.split ?? (ab.mapping ? 'key' : 'random');
    if (split !== 'random' && split !== 'key') fail('INVALID_PIPELINE', `${where}: split must be 'random' or 'key'`);
    checkKey(where, ab.key, arms[0].signature.inputs);
    const step: PipelineStep = { kind: 'ab', split, arms: arms.map(({ signature: _s, ...a }) => a) };
    if (ab.key) step.key = ab.key;
    if (split === 'key') {
      if (!ab.key || !ab.mapping) fail('INVALID_PIPELINE', `${where}: a key split needs 'key' and 'mapping'`);
      step.mapping = Object.fromEntries(Object.entries(ab.mapping!).map(([v, arm]) => [v, armIndex(arm)]));
      step.default = ab.default === undefined ? 0 : armIndex(ab.default);
    }
    return { step, signature: arms[0].signature };
  }
  if ('shadow' in spec) {
    const { champion, challengers } = spec.shadow;
    if (!champion || !Array.isArray(challengers) || challengers.length === 0) {
      fail('INVALID_PIPELINE', `${where}: a shadow step needs a champion and at least one challenger`);
    }
    const champ = await get(champion);
    const chals = [];
    for (const c of challengers) {
      const mv = await get(c);
      const missing = champ.signature.inputs.filter((s) => !mv.signature.inputs.some((t) => t.name === s.name && t.datatype === s.datatype));
      if (missing.length > 0 || mv.signature.inputs.length !== champ.signature.inputs.length) {
        fail('INVALID_PIPELINE', `${where}: challenger ${mv.model}:${mv.version} takes inputs ${specList(mv.signature.inputs)}, ` +
          `not the champion's ${specList(champ.signature.inputs)}`);
      }
      chals.push(resolved(mv));
    }
    return { step: { kind: 'shadow', champion: resolved(champ), challengers: chals }, signature: champ.signature };
  }
  if (typeof (spec as ModelRef).model !== 'string') fail('INVALID_PIPELINE', `${where}: a step is {model}, {ab} or {shadow}`);
  const mv = await get(spec as ModelRef);
  return { step: { kind: 'model', ...resolved(mv) }, signature: mv.signature };
}

/** Every model version a step may run, for loading. */
export function stepModels(step: PipelineStep): ResolvedModel[] {
  switch (step.kind) {
    case 'model': return [step];
    case 'ab': return step.arms;
    case 'shadow': return [step.champion, ...step.challengers];
  }
}

/** A short human description of a step. */
export function describeStep(step: PipelineStep): string {
  switch (step.kind) {
    case 'model': return label(step);
    case 'ab': return `ab(${step.arms.map((a) => `${label(a)}*${a.weight}`).join(', ')}${step.key ? `; key ${step.key}` : ''})`;
    case 'shadow': return `shadow(${label(step.champion)} vs ${step.challengers.map(label).join(', ')})`;
  }
}
