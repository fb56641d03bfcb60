/**
 * The inference engine's front door: check the request against the deployed pipeline's
 * signature, run it, check its validations, and hand a log entry to the log writer without
 * waiting on storage (or on shadow challengers).
 */
import type { Batch } from '../codecs/tensor.ts';
import { rowCount } from '../codecs/records.ts';
import type { DeploymentService, LiveDeployment } from '../deployments/index.ts';
import { fail } from '../errors/index.ts';
import type { InferenceLogWriter, LogEntry } from '../logs/writer.ts';
import { evaluate } from '../validations/index.ts';
import { type RunResult, type ShadowOutcome, type StepTrace, epochMs } from './runner.ts';
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
  trace: StepTrace[];
  /** Per row: the validations it broke. */
  anomalies: string[][];
}

/** What the engine tells metrics and traces about each run (observability/). Called in the request's async context. */
export interface InferenceObserver {
  inferred(d: LiveDeployment, rows: number, computeMs: number, run: RunResult, anomalies: string[][]): void;
  shadowsSettled(d: LiveDeployment, outcomes: ShadowOutcome[]): void;
  /** The log entry was handed to the writer (epoch ms, duration). */
  logged?(d: LiveDeployment, start: number, ms: number): void;
}

export class InferenceService {
  constructor(private readonly deployments: DeploymentService, private readonly logs: InferenceLogWriter, private readonly observers: InferenceObserver[] = []) {}

  private log(d: LiveDeployment, entry: LogEntry): void {
    const start = epochMs();
    this.logs.append(entry);
    for (const o of this.observers) o.logged?.(d, start, epochMs() - start);
  }

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
    if (!this.logs.accepting) {
      fail('LOG_STORE_UNAVAILABLE', `the inference log store is not taking writes (${(this.logs.backlogBytes / 2 ** 20).toFixed(1)} MiB unwritten, bound ${(this.logs.maxBacklog / 2 ** 20).toFixed(0)} MiB${this.logs.lastError ? `: ${this.logs.lastError}` : ''}); inference resumes once the backlog is written`);
    }
    const checked = checkInputs(deployment.name, signature, inputs);
    if (opts.outputs) checkOutputs(deployment.name, signature, opts.outputs);
    const metadata = opts.metadata ?? {};
    const time = Date.now();
    const started = performance.now();
    const run = await deployment.runner.run(checked, { metadata });
    const { outputs, trace, shadows } = run;
    const latencyMs = performance.now() - started;
    const rows = rowCount(checked);
    const anomalies = deployment.rules.length ? evaluate(deployment.rules, checked, outputs, rows) : [];
    for (const o of this.observers) o.inferred(deployment, rows, latencyMs, run, anomalies);
    const entry: LogEntry = {
      workspaceId: deployment.workspaceId, pipelineId: deployment.pipelineId, pipelineVersion: version, time,
      requestId: opts.requestId, inputs: checked, outputs, trace, anomalies, latencyMs, metadata,
    };
    if (shadows) {
      void shadows.then((s) => {
        for (const o of this.observers) o.shadowsSettled(deployment, s);
        this.log(deployment, { ...entry, shadows: s });
      });
    } else this.log(deployment, entry);
    const wanted = opts.outputs;
    return {
      deployment, time, inputs: checked, trace, anomalies,
      outputs: wanted ? wanted.map((n) => outputs.find((t) => t.name === n)!) : outputs,
    };
  }
}
