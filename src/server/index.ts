/** Starting and stopping a whole Bettong server over a data directory. */
import { openPlatform, type Platform, type PlatformOptions } from '../platform.ts';
import type { LogWriterOptions } from '../logs/writer.ts';
import type { ArtifactOptions } from '../artifacts/index.ts';
import type { MonitoringOptions } from '../monitoring/index.ts';
import type { FastifyInstance } from 'fastify';
import { buildServer, type ServerOptions, type ServerState } from './app.ts';
import { type RunningGrpcServer, startGrpcServer } from './grpc/index.ts';
import Fastify from 'fastify';
import { metricsOnlyRoutes } from './metrics.ts';

export interface StartOptions extends ServerOptions {
  dataDir: string;
  /** A postgres:// URL for the store (default: SQLite in dataDir). */
  database?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** OIP over gRPC on this port (0 picks a free one); no gRPC when absent. */
  grpcPort?: number;
  /** Prometheus metrics alone, without a token, on this port of 127.0.0.1 (0 picks a free one). */
  metricsPort?: number;
  logs?: LogWriterOptions;
  assays?: MonitoringOptions;
  artifacts?: ArtifactOptions;
  /** The admin's API token (BETTONG_ADMIN_TOKEN); on a first start without it, one is generated. */
  adminToken?: string;
  /** Where custom code runs (`--unsandboxed-custom-code` sets `unsandboxed`). */
  customCode?: PlatformOptions['customCode'];
  /** Following changes made through other servers on the same database. */
  sync?: PlatformOptions['sync'];
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
  /** The loopback metrics endpoint's URL, when --metrics-port is given. */
  metricsUrl?: string;
  /** Stops taking requests, finishes those in flight, flushes the inference log. */
  close(): Promise<void>;
}

/** A port that cannot be bound, said in one line: which server, which address, why. */
function listenError(what: string, host: string, port: number, e: unknown): Error {
  const text = (e as Error)?.message ?? String(e);
  const code = (e as { code?: string })?.code ?? /\b(EADDRINUSE|EACCES|EADDRNOTAVAIL)\b/.exec(text)?.[1];
  const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)'
    : code === 'EADDRNOTAVAIL' ? 'the address is not one of this machine\'s' : text;
  return new Error(`cannot listen for ${what} on ${host.includes(':') ? `[${host}]` : host}:${port}: ${why}${code ? ` (${code})` : ''}`);
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
  const platform = await openPlatform({ dataDir: opts.dataDir, database: opts.database, artifacts: opts.artifacts, logs: opts.logs, assays: opts.assays, customCode: opts.customCode, sync: opts.sync });
  // Whatever started is stopped again when a later step fails, so a failed start leaves nothing
  // running (model workers, timers, the database) that would keep the process alive.
  const started: (() => Promise<unknown>)[] = [() => platform.close()];
  let state: ServerState = { shuttingDown: false };
  let adminToken: string | undefined;
  let app: FastifyInstance;
  let port: number;
  let grpc: RunningGrpcServer | undefined;
  try {
    ({ adminToken } = await platform.access.bootstrap({ adminToken: opts.adminToken }));
    const { app: built, ...core } = await buildServer(platform, opts);
    app = built;
    state = core.state;
    started.push(() => app.close());
    await app.listen({ host, port: opts.port ?? 8080 }).catch((e) => { throw listenError('HTTP', host, opts.port ?? 8080, e); });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : (opts.port ?? 8080);
    if (opts.grpcPort !== undefined) {
      grpc = await startGrpcServer(core, {
        host, port: opts.grpcPort, maxMessageBytes: opts.bodyLimit ?? 64 * 1024 * 1024, log: app.log,
      }).catch((e) => { throw listenError('gRPC', host, opts.grpcPort!, e); });
    }
  } catch (e) {
    state.shuttingDown = true;
    for (const stop of started.reverse()) await stop().catch(() => undefined);
    throw e;
  }
  let metricsApp: ReturnType<typeof Fastify> | undefined;
  if (opts.metricsPort !== undefined) {
    // Loopback only: there is no token check on this port.
    metricsApp = Fastify({ logger: false });
    await metricsApp.register(metricsOnlyRoutes(platform));
    await metricsApp.listen({ host: '127.0.0.1', port: opts.metricsPort });
  }
  const metricsAddress = metricsApp?.server.address();
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    platform,
    ...(adminToken ? { adminToken } : {}),
    ...(grpc ? { grpcAddress: grpc.address, grpcPort: grpc.port } : {}),
    ...(metricsAddress && typeof metricsAddress === 'object' ? { metricsUrl: `http://127.0.0.1:${metricsAddress.port}/metrics` } : {}),
    close() {
      closing ??= (async () => {
        state.shuttingDown = true;
        await Promise.all([app.close(), grpc?.close(), metricsApp?.close()]);
        await platform.close();
      })();
      return closing;
    },
  };
}
