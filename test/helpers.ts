/** Shared test helpers: a real server on a free loopback port, the fixture models, HTTP calls. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import crypto from 'node:crypto';
import pg from 'pg';
import { type RunningServer, type StartOptions, startServer } from '../src/server/index.ts';
import { BettongClient } from '../src/sdk/index.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MODELS = path.join(ROOT, 'testdata', 'models');
/** The Python that Python steps run with in tests (scripts/test makes it: pandas, numpy, pyarrow). */
export const STEP_PYTHON = path.join(ROOT, '.venv-steps', 'bin', 'python');

export interface ExpectedTensor { datatype: string; shape: number[]; data: unknown[] }
export interface Expected { inputs: Record<string, ExpectedTensor>; outputs: Record<string, ExpectedTensor> }

export const modelBytes = (file: string) => fs.readFileSync(path.join(MODELS, `${file}.onnx`));
export const expected = (file: string): Expected => JSON.parse(fs.readFileSync(path.join(MODELS, `${file}.expected.json`), 'utf8'));

export const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-test-'));

export interface TestServer extends RunningServer {
  client: BettongClient;
  dataDir: string;
}

/** Set by scripts/with-postgres: the suite runs a second time with every server on PostgreSQL. */
export const TEST_DATABASE_URL = process.env.BETTONG_TEST_DATABASE_URL || undefined;
/** Why a test that is about SQLite itself does not run on PostgreSQL (node:test `skip`). */
export const SQLITE_ONLY = TEST_DATABASE_URL ? 'SQLite-specific: the suite runs on PostgreSQL' : false;

/**
 * The PostgreSQL database of a data directory in PostgreSQL runs (undefined otherwise): one
 * database per data dir, made on first use, so each server starts on a fresh one and a
 * server restarted on the same data dir finds its state again.
 */
export async function testDatabase(dataDir: string): Promise<string | undefined> {
  if (!TEST_DATABASE_URL) return undefined;
  const name = `bettong_${crypto.createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 16)}`;
  const admin = new pg.Client(TEST_DATABASE_URL);
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The environment a `bettong serve` child over `dataDir` needs: its PostgreSQL database in PostgreSQL runs. */
export async function serveEnv(dataDir: string): Promise<Record<string, string>> {
  const database = await testDatabase(dataDir);
  return database ? { BETTONG_DATABASE_URL: database } : {};
}

export async function testServer(opts: Partial<StartOptions> = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? tempDir();
  const database = opts.database ?? (await testDatabase(dataDir));
  // Quiet unless a test asks for the log (logLevel, logStream): a line per request would flood the output.
  const server = await startServer({ port: 0, logLevel: 'silent', ...opts, dataDir, database });
  return { ...server, dataDir, client: new BettongClient({ url: server.url }) };
}

/** Uploads fixture models and deploys a pipeline of them, in order. */
export async function deployPipeline(s: TestServer, pipeline: string, fixtures: string[]): Promise<void> {
  for (const f of fixtures) await s.client.uploadModel(f, modelBytes(f));
  await s.client.createPipeline(pipeline, fixtures.map((model) => ({ model })));
  await s.client.deploy(pipeline);
}

export async function call(s: { url: string }, method: string, route: string, body?: unknown, headers: Record<string, string> = {}) {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body instanceof Uint8Array || typeof body === 'string') init.body = body as BodyInit;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(s.url + route, init);
  const buf = Buffer.from(await res.arrayBuffer());
  let json: any;
  try { json = JSON.parse(buf.toString('utf8')); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, body: buf, json };
}

/** An OIP request for a fixture's sample inputs. */
export function oipRequest(e: Expected, extra: Record<string, unknown> = {}) {
  return { ...extra, inputs: Object.entries(e.inputs).map(([name, t]) => ({ name, ...t })) };
}

export function assertClose(actual: unknown[], want: unknown[], tol = 1e-5, what = 'data'): void {
  if (actual.length !== want.length) throw new Error(`${what}: length ${actual.length} != ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    const a = actual[i];
    const w = want[i];
    const ok = typeof w === 'number' && typeof a === 'number' ? Math.abs(a - w) <= tol * Math.max(1, Math.abs(w)) : a === w;
    if (!ok) throw new Error(`${what}[${i}]: got ${JSON.stringify(a)}, want ${JSON.stringify(w)}`);
  }
}

/** Polls until `check` returns a truthy value (bounded: 5 s by default). */
export async function eventually<T>(check: () => Promise<T | undefined | false>, what = 'condition', timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
