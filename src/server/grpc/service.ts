/**
 * The six calls of `inference.GRPCInferenceService` over the data plane (../dataplane.ts, shared with
 * the REST routes), with a pipeline as the protocol's "model". Each call declares the permission it
 * needs, exactly as its REST route does; handlers take and return plain message objects and act in
 * the workspace the call was authorized in (grpc/index.ts).
 */
import { type GrpcInferRequest, type GrpcInferResponse, decodeGrpcInferRequest, encodeGrpcInferResponse, parseVersion } from '../../codecs/oip-grpc.ts';
import type { Permission } from '../../access/index.ts';
import { toBettongError } from '../../errors/index.ts';
import type { ModelMetadata } from '../../inference/metadata.ts';
import type { DataPlane } from '../dataplane.ts';

interface ModelRef { name: string; version?: string }

/** Where an authorized call acts: its workspace (for calls that need a workspace permission). */
export interface CallContext {
  workspaceId: number;
}

export interface OipGrpcHandlers {
  ServerLive(req: object, ctx: CallContext): Promise<{ live: boolean }>;
  ServerReady(req: object, ctx: CallContext): Promise<{ ready: boolean }>;
  ModelReady(req: ModelRef, ctx: CallContext): Promise<{ ready: boolean }>;
  ServerMetadata(req: object, ctx: CallContext): Promise<{ name: string; version: string; extensions: string[] }>;
  ModelMetadata(req: ModelRef, ctx: CallContext): Promise<ModelMetadata>;
  ModelInfer(req: GrpcInferRequest, ctx: CallContext): Promise<GrpcInferResponse>;
}

/** What each call needs: the same as its REST route (routes/oip.ts). */
export const PERMISSIONS: Record<keyof OipGrpcHandlers, Permission> = {
  ServerLive: 'public',
  ServerReady: 'public',
  ServerMetadata: 'authenticated',
  ModelReady: 'inference:read',
  ModelMetadata: 'inference:read',
  ModelInfer: 'infer',
};

export function oipGrpcHandlers(dp: DataPlane): OipGrpcHandlers {
  return {
    async ServerLive() {
      return { live: dp.live() };
    },
    async ServerReady() {
      return { ready: dp.ready() };
    },
    async ServerMetadata() {
      // binary_tensor_data is an HTTP extension; over gRPC raw contents are the protocol itself.
      return { ...dp.serverMetadata(), extensions: [] };
    },
    async ModelReady(req, { workspaceId }) {
      try {
        return { ready: await dp.modelReady(workspaceId, req.name, parseVersion(req.version)) };
      } catch (e) {
        // An unknown pipeline or version is simply not ready (clients ask for a boolean); REST answers 404.
        if (toBettongError(e).status === 404) return { ready: false };
        throw e;
      }
    },
    async ModelMetadata(req, { workspaceId }) {
      return dp.modelMetadata(workspaceId, req.name, parseVersion(req.version));
    },
    async ModelInfer(msg, { workspaceId }) {
      const request = decodeGrpcInferRequest(msg);
      const { head, outputs } = await dp.infer(workspaceId, request);
      return encodeGrpcInferResponse(head, outputs, request.raw);
    },
  };
}
