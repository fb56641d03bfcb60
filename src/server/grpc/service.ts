/**
 * The six calls of `inference.GRPCInferenceService` over the platform, with a pipeline as the
 * protocol's "model": the same deployments, inference engine, logs and errors as the REST
 * routes (src/server/routes/oip.ts). Handlers take and return plain message objects.
 */
import crypto from 'node:crypto';
import {
  type GrpcInferRequest, type GrpcInferResponse, decodeGrpcInferRequest, encodeGrpcInferResponse, parseVersion,
} from '../../codecs/oip-grpc.ts';
import { toBettongError } from '../../errors/index.ts';
import { modelMetadata, modelReady } from '../../inference/metadata.ts';
import type { Platform } from '../../platform.ts';
import { DEFAULT_WORKSPACE_ID } from '../../store/index.ts';
import { VERSION } from '../../version.ts';
import type { ServerState } from '../app.ts';

interface ModelRef { name: string; version?: string }

export interface OipGrpcHandlers {
  ServerLive(req: object): Promise<{ live: boolean }>;
  ServerReady(req: object): Promise<{ ready: boolean }>;
  ModelReady(req: ModelRef): Promise<{ ready: boolean }>;
  ServerMetadata(req: object): Promise<{ name: string; version: string; extensions: string[] }>;
  ModelMetadata(req: ModelRef): Promise<unknown>;
  ModelInfer(req: GrpcInferRequest): Promise<GrpcInferResponse>;
}

export function oipGrpcHandlers(p: Platform, state: ServerState): OipGrpcHandlers {
  // Every object lives in a workspace; gRPC callers act in the default one, as REST callers do for now.
  const ws = DEFAULT_WORKSPACE_ID;

  return {
    async ServerLive() {
      return { live: !state.shuttingDown };
    },
    async ServerReady() {
      return { ready: !state.shuttingDown && p.deployments.isReady() && p.logs.accepting };
    },
    async ServerMetadata() {
      // binary_tensor_data is an HTTP extension; over gRPC raw contents are the protocol itself.
      return { name: 'bettong', version: VERSION, extensions: [] };
    },
    async ModelReady(req) {
      const version = parseVersion(req.version);
      try {
        return { ready: await modelReady(p, ws, req.name, version) };
      } catch (e) {
        // An unknown pipeline or version is simply not ready (clients ask for a boolean); REST answers 404.
        if (toBettongError(e).status === 404) return { ready: false };
        throw e;
      }
    },
    async ModelMetadata(req) {
      return modelMetadata(p, ws, req.name, parseVersion(req.version));
    },
    async ModelInfer(msg) {
      const request = decodeGrpcInferRequest(msg);
      const result = await p.inference.infer(ws, request.model, request.inputs, {
        version: request.version,
        outputs: request.outputs,
        requestId: request.id ?? crypto.randomUUID(),
        metadata: request.parameters,
      });
      // Validation results ride in the response parameters, as over REST (the list as a JSON string).
      const parameters = result.deployment.rules.length
        ? { anomaly_count: result.anomalies.reduce((n, a) => n + a.length, 0), anomalies: result.anomalies }
        : undefined;
      return encodeGrpcInferResponse({
        model_name: request.model, model_version: String(result.deployment.version.version), id: request.id, parameters,
      }, result.outputs, request.raw);
    },
  };
}
