/**
 * The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, oip.proto beside this
 * file) on its own port: the only place that knows gRPC. Errors from the catalogue become gRPC
 * statuses through `grpcStatus`, with the message as the status details and the stable code in
 * the `bettong-error-code` trailer.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { grpcStatus, toBettongError } from '../../errors/index.ts';
import type { Platform } from '../../platform.ts';
import type { ServerState } from '../app.ts';
import { type OipGrpcHandlers, oipGrpcHandlers } from './service.ts';
import { observeGrpcInfer } from '../metrics.ts';
import { tracedGrpc } from '../tracing.ts';

export const PROTO_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oip.proto');

/** How messages become objects: snake_case fields, 64-bit integers as strings (exact), Buffers for bytes. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true, longs: String, enums: String, defaults: true, arrays: true, oneofs: true,
};

/** The service definition, for the server and for clients built from the same proto (tests). */
export function loadOipProto(): grpc.GrpcObject {
  return grpc.loadPackageDefinition(protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS));
}

export const ERROR_CODE_KEY = 'bettong-error-code';

export interface GrpcServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Largest request message (bytes); larger ones are refused with RESOURCE_EXHAUSTED. */
  maxMessageBytes: number;
  /** Print server-side (5xx) failures to stderr. */
  logErrors?: boolean;
}

export interface RunningGrpcServer {
  port: number;
  /** host:port, what gRPC clients (tritonclient.grpc) take. */
  address: string;
  /** Refuses new calls, lets those in flight finish (at most `graceMs`, then cuts them off). */
  close(graceMs?: number): Promise<void>;
}

function toStatus(err: unknown, logErrors: boolean): grpc.ServerErrorResponse {
  const e = toBettongError(err);
  if (logErrors && e.status >= 500) console.error(err);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  return Object.assign(new Error(e.message), { code: grpcStatus[e.code], details: e.message, metadata });
}

function unary(fn: (req: any, metadata: Record<string, unknown>) => Promise<unknown>, logErrors: boolean): grpc.handleUnaryCall<any, any> {
  return (call, callback) => {
    fn(call.request, call.metadata.getMap()).then((res) => callback(null, res), (err) => callback(toStatus(err, logErrors)));
  };
}

export async function startGrpcServer(platform: Platform, state: ServerState, opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  const handlers = oipGrpcHandlers(platform, state);
  const service = ((loadOipProto().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor).service;
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(handlers) as (keyof OipGrpcHandlers)[]) {
    const handler = (req: any) => (handlers[name] as (r: unknown) => Promise<unknown>)(req);
    impl[name] = unary(tracedGrpc(name, name === 'ModelInfer' ? observeGrpcInfer(platform, handler) : handler), opts.logErrors ?? false);
  }
  server.addService(service, impl);

  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${host}:${opts.port}`, grpc.ServerCredentials.createInsecure(), (err, bound) => {
      if (err) reject(new Error(`cannot serve gRPC on ${host}:${opts.port}: ${err.message}`));
      else resolve(bound);
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port,
    address: `${host}:${port}`,
    close(graceMs = 10_000) {
      closing ??= new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return closing;
    },
  };
}
