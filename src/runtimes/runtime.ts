/**
 * The runtime contract: read a model artifact's signature, load it, predict on a batch.
 * A runtime never sees HTTP, JSON or the database.
 */
import type { Batch, DataType } from '../codecs/tensor.ts';
import type { SandboxSettings } from './sandbox/launch.ts';

export interface TensorSpec {
  name: string;
  datatype: DataType;
  /** -1 marks a dynamic dimension. */
  shape: number[];
}

export interface Signature {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
}

export interface RuntimeConfig {
  /** Threads one prediction may use inside the runtime (0: the runtime's default). */
  intraOpThreads?: number;
  /** Longest one prediction may take before it fails (runtimes that can stop a call). */
  timeoutMs?: number;
  /** The step (model:version), for log lines of runtimes that run custom code. */
  name?: string;
  /** Where and under which limits custom code (js, python) runs. */
  sandbox?: SandboxSettings;
}

export interface Model {
  readonly signature: Signature;
  /** Inputs are named as in the signature; returns the requested outputs (all when omitted). */
  predict(inputs: Batch, outputNames?: string[]): Promise<Batch>;
  dispose(): Promise<void>;
}

/** A model's own environment (a Python model's requirements.txt), built before it can be read or loaded. */
export interface EnvironmentBuild {
  ready: boolean;
  /** Builds it (once, shared); the build log either way. */
  build(): Promise<{ ok: boolean; log: string }>;
}

export interface Runtime {
  /** Stable id stored with each model version, e.g. "onnx". */
  readonly name: string;
  /** The OIP platform string, e.g. "onnx_onnxv1". */
  readonly platform: string;
  /** Reads and checks the artifact; throws INVALID_MODEL or UNSUPPORTED_MODEL_OUTPUT. */
  inspect(artifact: Uint8Array, config?: RuntimeConfig): Promise<Signature>;
  load(artifact: Uint8Array, config?: RuntimeConfig): Promise<Model>;
  /** What the artifact needs built first, if anything (runtimes with per-model environments). */
  environment?(artifact: Uint8Array, config?: RuntimeConfig): Promise<EnvironmentBuild | undefined>;
}
