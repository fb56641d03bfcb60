/**
 * The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`, oip.proto beside this
 * file) on its own port: the only place that knows gRPC. Every call is authorized like its REST
 * route, by the shared Authorizer, from the `authorization: Bearer <token>` and `bettong-workspace`
 * metadata. Errors from the catalogue become gRPC statuses through `grpcStatus`, with the message as
 * the status details and the stable code in the `bettong-error-code` trailer (a refused infer over
 * the rate limit adds `retry-after`, in seconds).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { FastifyBaseLogger } from 'fastify';
import { type Grant, RateLimitedError } from '../../access/index.ts';
import { fail, grpcStatus, toBettongError } from '../../errors/index.ts';
import type { ServerCore } from '../app.ts';
import { WORKSPACE_HEADER } from '../auth.ts';
import { logGrpcCall } from '../logging.ts';
import { type CallContext, type OipGrpcHandlers, PERMISSIONS, oipGrpcHandlers } from './service.ts';
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
  /** The server's log: one line per call (logging.ts). */
  log: FastifyBaseLogger;
}

export interface RunningGrpcServer {
  port: number;
  /** host:port, what gRPC clients (tritonclient.grpc) take. */
  address: string;
  /** Refuses new calls, lets those in flight finish (at most `graceMs`, then cuts them off). */
  close(graceMs?: number): Promise<void>;
}

function toStatus(err: unknown): grpc.ServerErrorResponse {
  const e = toBettongError(err);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  if (e instanceof RateLimitedError) metadata.set('retry-after', String(e.retryAfterSeconds));
  return Object.assign(new Error(e.message), { code: grpcStatus[e.code], details: e.message, metadata });
}

/** A metadata value as text; absent or empty: undefined. */
function metadataValue(md: grpc.Metadata, key: string): string | undefined {
  const v = md.get(key)[0];
  const text = Buffer.isBuffer(v) ? v.toString('utf8') : v;
  return text === undefined || text === '' ? undefined : text;
}

/** Authorizes the call as its REST route would, runs the handler in the granted workspace, logs one line. */
function unary(core: ServerCore, name: keyof OipGrpcHandlers, handler: (req: any, ctx: CallContext, metadata: Record<string, unknown>) => Promise<unknown>, log: FastifyBaseLogger): grpc.handleUnaryCall<any, any> {
  return (call, callback) => {
    const startedAt = performance.now();
    let grant: Grant | null = null;
    const done = (status: string, error?: unknown) => logGrpcCall(log, { reqId: crypto.randomUUID(), method: name, grant, startedAt, status, error });
    (async () => {
      grant = await core.authorizer.authorize(
        { authorization: metadataValue(call.metadata, 'authorization') }, PERMISSIONS[name], metadataValue(call.metadata, WORKSPACE_HEADER),
        (g) => { grant = g; },
      );
      const ctx: CallContext = {
        get workspaceId() {
          return grant?.workspace?.id ?? fail('INTERNAL', `gRPC ${name} declares no workspace permission`);
        },
      };
      return handler(call.request, ctx, call.metadata.getMap());
    })().then((res) => {
      callback(null, res);
      done('OK');
    }, (err) => {
      const status = toStatus(err);
      callback(status);
      done(grpc.status[status.code!], err);
    });
  };
}

export async function startGrpcServer(core: ServerCore, opts: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': opts.maxMessageBytes,
    'grpc.max_send_message_length': -1,
    // Channelz (gRPC's introspection service) is not served; its per-call bookkeeping cost ~4 % of a call.
    'grpc.enable_channelz': 0,
  });
  const handlers = oipGrpcHandlers(core.dataplane);
  const service = ((loadOipProto().inference as grpc.GrpcObject).GRPCInferenceService as grpc.ServiceClientConstructor).service;
  const impl: grpc.UntypedServiceImplementation = {};
  for (const name of Object.keys(handlers) as (keyof OipGrpcHandlers)[]) {
    const handler = handlers[name] as (r: unknown, ctx: CallContext) => Promise<unknown>;
    impl[name] = unary(core, name, tracedGrpc(name, name === 'ModelInfer' ? observeGrpcInfer(core.platform, handler) : handler), opts.log);
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
