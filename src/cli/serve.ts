/** `bettong serve`: run the server until SIGTERM/SIGINT, then drain and flush the logs. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fs from 'node:fs';
import { startServer } from '../server/index.ts';
import type { Platform } from '../platform.ts';
import { DEFAULT_WORKSPACE_ID } from '../store/index.ts';

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
  dataDir: string; host: string; port: string; grpcPort?: string; bodyLimit: string; demo?: boolean;
  auth?: boolean; rateLimit?: string; rateBurst?: string; unsandboxedCustomCode?: boolean; python?: string;
}

const positive = (what: string, v: string | undefined) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw new Error(`${what} must be a positive number, got '${v}'`);
  return n;
};

export async function serve(o: ServeOptions): Promise<void> {
  const auth = o.auth === true || /^(1|true|yes|on)$/i.test(process.env.BETTONG_AUTH ?? '');
  // gRPC does not check API tokens yet: with auth on it runs only when asked for (and is then refused).
  const grpcPort = o.grpcPort !== undefined ? Number(o.grpcPort) : auth ? undefined : Number(o.port) === 0 ? 0 : 8081;
  if (grpcPort !== undefined && (!Number.isInteger(grpcPort) || grpcPort < 0 || grpcPort > 65535)) throw new Error(`--grpc-port must be a port number, got '${o.grpcPort}'`);
  const perSecond = positive('--rate-limit', o.rateLimit);
  const server = await startServer({
    dataDir: path.resolve(o.dataDir), host: o.host, port: Number(o.port), grpcPort, bodyLimit: Number(o.bodyLimit) * 1024 * 1024,
    auth, adminToken: process.env.BETTONG_ADMIN_TOKEN || undefined, customCode: { unsandboxed: o.unsandboxedCustomCode === true, python: o.python },
    ...(perSecond ? { rateLimit: { perSecond, burst: positive('--rate-burst', o.rateBurst) } } : {}),
  });
  if (server.adminToken) {
    console.log('first start: created user "admin" and its API token (shown this once, stored only as a hash):\n' +
      `  ${server.adminToken}\nuse it with: export BETTONG_TOKEN=<token>`);
  }
  if (o.demo) await deployDemo(server.platform);
  console.log(`bettong listening on ${server.url} (data in ${path.resolve(o.dataDir)})`);
  console.log(auth ? 'auth on: every request needs Authorization: Bearer <token>' : 'local mode: requests without a token act as the admin (loopback only; --auth to require tokens)');
  if (server.grpcAddress) console.log(`OIP gRPC (inference.GRPCInferenceService) on ${server.grpcAddress}`);
  else console.log('OIP gRPC off: it does not check API tokens yet');
  if (o.demo) {
    console.log(`sample pipeline "digits" deployed; try:\n  curl -s ${server.url}/v2/models/digits\n` +
      `  curl -s -X POST ${server.url}/v1/pipelines/digits/infer -H 'content-type: application/json' ` +
      `-d '[{"input": [${new Array(64).fill(0).map((_, i) => (i % 7 === 0 ? 8 : 0)).join(',')}]}]'`);
  }
  const stop = async (signal: string) => {
    console.log(`${signal}: draining requests and flushing inference logs`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
