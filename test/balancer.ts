/**
 * N `bettong serve` processes on one database behind HAProxy, on loopback: the harness of the
 * cluster test (test/cluster-haproxy.test.ts) and the cluster benchmark (bench/cluster.ts).
 * On PostgreSQL runs (BETTONG_TEST_DATABASE_URL, scripts/with-postgres) the servers share a
 * database, which holds the artifacts too (`--artifacts database`), and each has a data dir of its
 * own; otherwise they share one SQLite data directory.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, tempDir, testDatabase } from './helpers.ts';

const BIN = path.join(ROOT, 'bin', 'bettong.mjs');

export const haproxyPath = (): string | undefined => {
  const r = spawnSync('sh', ['-c', 'command -v haproxy || ls /usr/sbin/haproxy 2>/dev/null'], { encoding: 'utf8' });
  return r.stdout.trim().split('\n')[0] || undefined;
};

export const freePort = () => new Promise<number>((resolve, reject) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const { port } = s.address() as net.AddressInfo;
    s.close(() => resolve(port));
  }).on('error', reject);
});

export interface Node {
  url: string;
  port: number;
  proc: ChildProcess;
  /** stderr, for a failure's report. */
  err: string[];
}

export interface ClusterOptions {
  dataDir?: string;
  /** Extra `bettong serve` arguments. */
  args?: string[];
}

/** Starts one server of the cluster and waits until it listens. */
export async function startNode(dataDir: string, database: string | undefined, args: string[] = []): Promise<Node> {
  const port = await freePort();
  const proc = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', String(port), '--grpc-port', '0', '--log-level', 'error',
    ...(database ? ['--database', database] : []), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const err: string[] = [];
  proc.stderr!.on('data', (d) => err.push(String(d)));
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes('bettong listening on')) {
        proc.stdout!.off('data', onData);
        proc.stdout!.resume();
        resolve();
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`bettong serve exited (${code}) before listening: ${err.join('')}`)));
  });
  return { url: `http://127.0.0.1:${port}`, port, proc, err };
}

export function haproxyConfig(frontPort: number, nodes: { port: number }[]): string {
  return `global
  maxconn 4096
defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  # A request a server failed (refused, reset, no answer, 5xx) is sent again, to another server.
  retries 3
  retry-on all-retryable-errors
  option redispatch 1
  option http-buffer-request
frontend bettong
  bind 127.0.0.1:${frontPort}
  default_backend servers
backend servers
  balance roundrobin
  option httpchk GET /v2/health/ready
  http-check expect status 200
  default-server inter 250ms fastinter 100ms downinter 500ms fall 2 rise 2
${nodes.map((n, i) => `  server s${i + 1} 127.0.0.1:${n.port} check`).join('\n')}
`;
}

export interface Balancer {
  url: string;
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** HAProxy in the foreground over `nodes`; ready when it accepts connections. */
export async function startBalancer(nodes: { port: number }[], dir: string): Promise<Balancer> {
  const exe = haproxyPath();
  if (!exe) throw new Error('haproxy is not installed (scripts/test installs the Debian package)');
  const port = await freePort();
  const cfg = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(cfg, haproxyConfig(port, nodes));
  const proc = spawn(exe, ['-db', '-q', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  const err: string[] = [];
  proc.stderr!.on('data', (d) => err.push(String(d)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`haproxy exited: ${err.join('')}`);
    const up = await new Promise<boolean>((r) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); r(true); }).once('error', () => r(false)));
    if (up) break;
    if (Date.now() > deadline) throw new Error(`haproxy did not listen: ${err.join('')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url: `http://127.0.0.1:${port}`, proc, stop: () => stopProcess(proc, 'SIGTERM') };
}

export function stopProcess(proc: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill(signal);
  });
}

export interface Cluster {
  dataDir: string;
  database: string | undefined;
  nodes: Node[];
  stop(): Promise<void>;
}

/** `n` servers over one database (PostgreSQL when the run has one, else one SQLite data dir). */
export async function startCluster(n: number, opts: ClusterOptions = {}): Promise<Cluster> {
  const dataDir = opts.dataDir ?? tempDir();
  const database = await testDatabase(dataDir);
  const nodes: Node[] = [];
  const stop = async () => { await Promise.all(nodes.map((x) => stopProcess(x.proc))); };
  try {
    // One after another: the first makes the schema and the admin user; the rest find them.
    // On PostgreSQL each server has a data dir of its own, as on separate machines, and the artifacts are in the database.
    for (let i = 0; i < n; i++) {
      const own = database ? path.join(dataDir, `server${i + 1}`) : dataDir;
      fs.mkdirSync(own, { recursive: true });
      nodes.push(await startNode(own, database, [...(database ? ['--artifacts', 'database'] : []), ...(opts.args ?? [])]));
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { dataDir, database, nodes, stop };
}

/** Waits until `check` holds, polling every 20 ms; the time it took, ms. */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check().catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
