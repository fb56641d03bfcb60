/**
 * The inference engine's front door: check the request against the deployed pipeline's
 * signature, run it, hand a log entry to the log writer without waiting on storage.
 */
import type { Batch } from '../codecs/tensor.ts';
import type { DeploymentService, LiveDeployment } from '../deployments/index.ts';
import { fail } from '../errors/index.ts';
import type { InferenceLogWriter } from '../logs/writer.ts';
import type { AnsweringModel } from './runner.ts';
import { checkInputs, checkOutputs } from './validate.ts';

export interface InferOptions {
  /** Pipeline version the caller asks for; it must be the deployed one. */
  version?: number;
  /** Output names to return (all when omitted). */
  outputs?: string[];
  requestId?: string;
  metadata?: Record<string, unknown>;
}

export interface InferResult {
  deployment: LiveDeployment;
  time: number;
  inputs: Batch;
  outputs: Batch;
  models: AnsweringModel[];
}

export class InferenceService {
  constructor(private readonly deployments: DeploymentService, private readonly logs: InferenceLogWriter) {}

  async infer(workspaceId: number, pipeline: string, inputs: Batch, opts: InferOptions = {}): Promise<InferResult> {
    const deployment = await this.deployments.get(workspaceId, pipeline);
    return this.run(deployment, inputs, opts);
  }

  /** Runs on an already resolved deployment (the records route needs its signature first). */
  async run(deployment: LiveDeployment, inputs: Batch, opts: InferOptions = {}): Promise<InferResult> {
    const { version, signature } = deployment.version;
    if (opts.version !== undefined && opts.version !== version) {
      fail('PIPELINE_VERSION_NOT_FOUND', `pipeline '${deployment.name}' runs version ${version}, not ${opts.version}`);
    }
    const checked = checkInputs(deployment.name, signature, inputs);
    if (opts.outputs) checkOutputs(deployment.name, signature, opts.outputs);
    const time = Date.now();
    const started = performance.now();
    const { outputs, models } = await deployment.runner.run(checked);
    const latencyMs = performance.now() - started;
    this.logs.append({
      workspaceId: deployment.workspaceId, pipelineId: deployment.pipelineId, pipelineVersion: version, time,
      requestId: opts.requestId, inputs: checked, outputs, models, latencyMs, metadata: opts.metadata ?? {},
    });
    const wanted = opts.outputs;
    return {
      deployment, time, inputs: checked, models,
      outputs: wanted ? wanted.map((n) => outputs.find((t) => t.name === n)!) : outputs,
    };
  }
}
