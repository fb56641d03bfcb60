/** Starting and stopping a whole Bettong server over a data directory. */
import { openPlatform, type Platform } from '../platform.ts';
import type { LogWriterOptions } from '../logs/writer.ts';
import type { MonitoringOptions } from '../monitoring/index.ts';
import { buildServer, type ServerOptions } from './app.ts';
import { type RunningGrpcServer, startGrpcServer } from './grpc/index.ts';

export interface StartOptions extends ServerOptions {
  dataDir: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** OIP over gRPC on this port (0 picks a free one); no gRPC when absent. */
  grpcPort?: number;
  logs?: LogWriterOptions;
  assays?: MonitoringOptions;
}

export interface RunningServer {
  url: string;
  port: number;
  platform: Platform;
  /** host:port of the OIP gRPC endpoint, when it runs. */
  grpcAddress?: string;
  grpcPort?: number;
  /** Stops taking requests, finishes those in flight, flushes the inference log. */
  close(): Promise<void>;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const platform = await openPlatform({ dataDir: opts.dataDir, logs: opts.logs, assays: opts.assays });
  const { app, state } = await buildServer(platform, opts);
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 8080 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 8080);
  let grpc: RunningGrpcServer | undefined;
  if (opts.grpcPort !== undefined) {
    try {
      grpc = await startGrpcServer(platform, state, {
        host, port: opts.grpcPort, maxMessageBytes: opts.bodyLimit ?? 64 * 1024 * 1024, logErrors: opts.logRequests,
      });
    } catch (e) {
      await app.close();
      await platform.close();
      throw e;
    }
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    platform,
    ...(grpc ? { grpcAddress: grpc.address, grpcPort: grpc.port } : {}),
    close() {
      closing ??= (async () => {
        state.shuttingDown = true;
        await Promise.all([app.close(), grpc?.close()]);
        await platform.close();
      })();
      return closing;
    },
  };
}
