/** `bettong serve`: run the server until SIGTERM/SIGINT, then drain and flush the logs. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { startServer } from '../server/index.ts';
import type { Platform } from '../platform.ts';
import type { LogLevel } from '../server/logging.ts';
import { DEFAULT_WORKSPACE_ID, redact } from '../store/index.ts';
import { tracingRequested } from '../observability/tracing.ts';

const SAMPLE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testdata/models/digits_mlp.onnx');

/** Registers and deploys the digits MLP as pipeline "digits" (idempotent). */
async function deployDemo(p: Platform): Promise<void> {
  const ws = DEFAULT_WORKSPACE_ID;
  await p.registry.upload(ws, 'digits-mlp', fs.readFileSync(SAMPLE));
  await p.pipelines.create(ws, 'digits', { steps: [{ model: 'digits-mlp' }] });
  const status = await p.deployments.status(ws, 'digits');
  if (status.status !== 'running') await p.deployments.deploy(ws, 'digits');
}

interface ServeOptions {
  dataDir: string; database?: string; artifacts?: string; artifactsEndpoint?: string; host: string; port: string; grpcPort?: string; bodyLimit: string; demo?: boolean;
  auth?: boolean; rateLimit?: string; rateBurst?: string; allowPrivateWebhooks?: boolean; logLevel: LogLevel; metricsPort?: string; logBacklog?: string; unsandboxedCustomCode?: boolean; python?: string; cacheDir?: string;
}

const positive = (what: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${what} must be a positive number, got '${v}'`);
  return n;
};

const portNumber = (what: string, v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${what} must be a port number (0 to 65535; 0 picks a free one), got '${v}'`);
  return n;
};

export async function serve(o: ServeOptions): Promise<void> {
  const auth = o.auth === true || /^(1|true|yes|on)$/i.test(process.env.BETTONG_AUTH ?? '');
  const port = portNumber('--port', o.port);
  const grpcPort = o.grpcPort !== undefined ? portNumber('--grpc-port', o.grpcPort) : port === 0 ? 0 : 8081;
  // Only when OTEL_* settings ask for traces is the SDK loaded at all.
  const tracing = tracingRequested() ? await import('../observability/tracing-sdk.ts') : undefined;
  tracing?.startTracing();
  const perSecond = positive('--rate-limit', o.rateLimit);
  const metricsPort = o.metricsPort === undefined ? undefined : Number(o.metricsPort);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535)) throw new Error(`--metrics-port must be a port number, got '${o.metricsPort}'`);
  const server = await startServer({
    dataDir: path.resolve(o.dataDir), database: o.database || undefined, artifacts: { url: o.artifacts, endpoint: o.artifactsEndpoint }, host: o.host, port, grpcPort, metricsPort, bodyLimit: Number(o.bodyLimit) * 1024 * 1024,
    auth, adminToken: process.env.BETTONG_ADMIN_TOKEN || undefined, customCode: { unsandboxed: o.unsandboxedCustomCode === true, python: o.python, cacheDir: o.cacheDir },
    logs: { maxBacklogBytes: (positive('--log-backlog', o.logBacklog) ?? 64) * 1024 * 1024 },
    ...(perSecond ? { rateLimit: { perSecond, burst: positive('--rate-burst', o.rateBurst) } } : {}),
    assays: { allowPrivateWebhooks: o.allowPrivateWebhooks === true }, logLevel: o.logLevel,
  });
  if (server.adminToken) {
    console.log('first start: created user "admin" and its API token (shown this once, stored only as a hash):\n' +
      `  ${server.adminToken}\nuse it with: export BETTONG_TOKEN=<token>`);
  }
  if (o.demo) {
    // A demo that fails stops the server it started: a failed start exits rather than serving half.
    await deployDemo(server.platform).catch(async (e) => { await server.close(); throw e; });
  }
  const state = o.database ? `state in PostgreSQL ${redact(o.database)}, ` : '';
  console.log(`bettong listening on ${server.url} (${state}data in ${path.resolve(o.dataDir)}${o.artifacts ? `, artifacts in ${o.artifacts}` : ''})`);
  console.log(`web console: open ${server.url}/ in a browser (${auth ? 'sign in with an API token' : 'no token needed in local mode'})`);
  console.log(auth ? 'auth on: every request needs Authorization: Bearer <token>' : 'local mode: requests without a token act as the admin (loopback only; --auth to require tokens)');
  if (tracing) console.log(`tracing on: spans exported over OTLP to ${process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT ?? 'the default endpoint'}`);
  if (server.metricsUrl) console.log(`Prometheus metrics (no token, loopback only) on ${server.metricsUrl}`);
  if (server.grpcAddress) console.log(`OIP gRPC (inference.GRPCInferenceService) on ${server.grpcAddress}`);
  if (o.demo) {
    console.log(`sample pipeline "digits" deployed; try:\n  curl -s ${server.url}/v2/models/digits\n` +
      `  curl -s -X POST ${server.url}/v1/pipelines/digits/infer -H 'content-type: application/json' ` +
      `-d '[{"input": [${new Array(64).fill(0).map((_, i) => (i % 7 === 0 ? 8 : 0)).join(',')}]}]'`);
  }
  const stop = async (signal: string) => {
    console.log(`${signal}: draining requests and flushing inference logs`);
    await server.close();
    await tracing?.stopTracing();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
