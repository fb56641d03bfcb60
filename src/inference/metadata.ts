/**
 * What the Open Inference Protocol says about a pipeline (its "model"): metadata and
 * readiness. Shared by the REST and gRPC transports, which only translate it.
 */
import type { DeploymentService } from '../deployments/index.ts';
import { fail } from '../errors/index.ts';
import { type PipelineService, type PipelineVersion, stepModels } from '../pipelines/index.ts';
import type { ModelRegistry } from '../registry/index.ts';
import type { TensorSpec } from '../runtimes/index.ts';

interface Services {
  pipelines: PipelineService;
  deployments: DeploymentService;
  registry: ModelRegistry;
}

/** What a pipeline made of several runtimes reports as its platform. */
export const MIXED_PLATFORM = 'bettong_pipeline';

export interface ModelMetadata {
  name: string;
  versions: string[];
  platform: string;
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

/**
 * The runtime platform behind every model of a pipeline version (A/B arms and shadow challengers
 * included): the runtime's own string (onnx_onnxv1, bettong_js) when all share one, else MIXED_PLATFORM.
 */
async function platformOf(registry: ModelRegistry, v: PipelineVersion): Promise<string> {
  const ids = new Set(v.steps.flatMap(stepModels).map((m) => m.model_version_id));
  const platforms = new Set<string>();
  for (const id of ids) platforms.add((await registry.getVersionById(id)).platform);
  return platforms.size === 1 ? [...platforms][0] : MIXED_PLATFORM;
}

/** The asked-for version, else the deployed one, else the latest. */
export async function modelMetadata(p: Services, ws: number, name: string, version?: number): Promise<ModelMetadata> {
  const all = await p.pipelines.versions(ws, name);
  const wanted = version ?? (await p.deployments.status(ws, name)).pipeline_version ?? undefined;
  const v = wanted === undefined ? all.at(-1) : all.find((x) => x.version === wanted);
  if (!v) return fail('PIPELINE_VERSION_NOT_FOUND', `pipeline '${name}' has no version ${wanted}`);
  return {
    name, versions: all.map((x) => String(x.version)), platform: await platformOf(p.registry, v),
    inputs: v.signature.inputs, outputs: v.signature.outputs,
  };
}

/** Running, and running the asked-for version when one is named; 404 for an unknown pipeline or version. */
export async function modelReady(p: Services, ws: number, name: string, version?: number): Promise<boolean> {
  const status = await p.deployments.status(ws, name);
  if (version !== undefined) await p.pipelines.getVersion(ws, name, version);
  return status.status === 'running' && (version === undefined || version === status.pipeline_version);
}
