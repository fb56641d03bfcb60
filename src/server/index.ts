/** Starting and stopping a whole Bettong server over a data directory. */
import { openPlatform, type Platform, type PlatformOptions } from '../platform.ts';
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
  /** The admin's API token (BETTONG_ADMIN_TOKEN); on a first start without it, one is generated. */
  adminToken?: string;
  /** Where custom code runs (`--unsandboxed-custom-code` sets `unsandboxed`). */
  customCode?: PlatformOptions['customCode'];
}

export interface RunningServer {
  url: string;
  port: number;
  platform: Platform;
  /** The admin token generated on the first start over a data directory: shown once, stored only as a hash. */
  adminToken?: string;
  /** host:port of the OIP gRPC endpoint, when it runs. */
  grpcAddress?: string;
  grpcPort?: number;
  /** Stops taking requests, finishes those in flight, flushes the inference log. */
  close(): Promise<void>;
}

/** 127.0.0.0/8, ::1 and localhost: only this machine can connect. */
export const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host) || /^::ffff:127\./i.test(host);

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!opts.auth && !isLoopback(host)) {
    throw new Error(`refusing to listen on ${host} without authentication: outside loopback every request must carry an API token. ` +
      'Start with --auth (BETTONG_AUTH=1), or bind 127.0.0.1 for local mode.');
  }
  if (opts.auth && opts.grpcPort !== undefined) {
    throw new Error('gRPC does not check API tokens yet: start without --grpc-port when --auth is on');
  }
  const platform = await openPlatform({ dataDir: opts.dataDir, logs: opts.logs, assays: opts.assays, customCode: opts.customCode });
  let adminToken: string | undefined;
  try {
    ({ adminToken } = await platform.access.bootstrap({ adminToken: opts.adminToken }));
  } catch (e) {
    await platform.close();
    throw e;
  }
  const { app, state } = await buildServer(platform, opts);
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
    ...(adminToken ? { adminToken } : {}),
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
