/**
 * The Open Inference Protocol's calls, free of any transport (MLServer's and KServe's "dataplane"):
 * live, ready, server and model metadata, model ready, infer. REST (routes/oip.ts) and gRPC
 * (grpc/service.ts) decode their wire format, call this, and encode what it answers; the request
 * id and the response head are made here once.
 */
import crypto from 'node:crypto';
import type { Batch } from '../codecs/tensor.ts';
import type { InferCall } from '../codecs/oip-grpc.ts';
import { type ModelMetadata, modelMetadata, modelReady } from '../inference/metadata.ts';
import type { Platform } from '../platform.ts';
import { VERSION } from '../version.ts';

export interface ServerState {
  shuttingDown: boolean;
}

/** The response fields besides the outputs, the same over every transport. */
export interface ResponseHead {
  model_name: string;
  model_version: string;
  id?: string;
  /** Validation results, when the pipeline has validations (OIP clients ignore what they don't know). */
  parameters?: { anomaly_count: number; anomalies: string[][] };
}

export class DataPlane {
  constructor(private readonly p: Platform, private readonly state: ServerState) {}

  live(): boolean {
    return !this.state.shuttingDown;
  }

  ready(): boolean {
    // Not ready while the inference log cannot keep what it is given (issue 10): inference is refused then.
    return !this.state.shuttingDown && this.p.deployments.isReady() && this.p.logs.accepting;
  }

  /** Each transport adds the protocol extensions it speaks. */
  serverMetadata(): { name: string; version: string } {
    return { name: 'bettong', version: VERSION };
  }

  modelMetadata(workspaceId: number, name: string, version?: number): Promise<ModelMetadata> {
    return modelMetadata(this.p, workspaceId, name, version);
  }

  /** Whether the pipeline (and the version, when one is named) runs; PIPELINE_NOT_FOUND / PIPELINE_VERSION_NOT_FOUND otherwise. */
  modelReady(workspaceId: number, name: string, version?: number): Promise<boolean> {
    return modelReady(this.p, workspaceId, name, version);
  }

  async infer(workspaceId: number, call: InferCall): Promise<{ head: ResponseHead; outputs: Batch }> {
    const result = await this.p.inference.infer(workspaceId, call.model, call.inputs, {
      version: call.version,
      outputs: call.outputs,
      // The log keys rows by request id: one the client did not give is made up, but not echoed.
      requestId: call.id ?? crypto.randomUUID(),
      metadata: call.parameters,
    });
    const head: ResponseHead = { model_name: call.model, model_version: String(result.deployment.version.version) };
    if (call.id !== undefined) head.id = call.id;
    if (result.deployment.rules.length) {
      head.parameters = { anomaly_count: result.anomalies.reduce((n, a) => n + a.length, 0), anomalies: result.anomalies };
    }
    return { head, outputs: result.outputs };
  }
}
