/**
 * Many servers behind a balancer (issue 14): throughput through HAProxy with 1, 2 and 3 `bettong
 * serve` processes on one database, beside the bare one-server figure (wrk straight at server 1)
 * measured in the same run; and how fast a change made through server 1 runs on the others
 * (swap, undeploy) on an idle cluster.
 *
 *   npm run bench:cluster                              (SQLite: the servers share one data dir)
 *   scripts/with-postgres npm run bench:cluster        (PostgreSQL: a throwaway cluster)
 *   BENCH_SECONDS=5 BENCH_CONCURRENCY=32 BENCH_ROUNDS=3 BENCH_CONVERGE_ROUNDS=5
 *
 * On a 2-core box three servers and HAProxy share two cores with wrk: the figures show the
 * balancer's overhead, not scaling. Every server stays up for every point (idle ones only poll).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BettongClient } from '../src/sdk/index.ts';
import { haproxyPath, startBalancer, startCluster, until } from '../test/balancer.ts';
import { expected, modelBytes, oipRequest } from '../test/helpers.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 32);
const ROUNDS = Number(process.env.BENCH_CONVERGE_ROUNDS ?? 5);
const ROUNDS_LOAD = Number(process.env.BENCH_ROUNDS ?? 3);
const log = (s: string) => process.stdout.write(`${s}\n`);
const load = () => os.loadavg()[0].toFixed(2);

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => { out += d; });
    c.stderr.on('data', (d: Buffer) => { out += d; });
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} failed (${code}):\n${out}`))));
  });
}

interface Load { rps: number; p50: number; p99: number; non2xx: number; load: string }

/** wrk, 1 thread, POSTing `body`; p50/p99 from its latency distribution (ms). */
async function wrk(url: string, body: string): Promise<Load> {
  const script = path.join(os.tmpdir(), `bettong-cluster-wrk-${process.pid}.lua`);
  fs.writeFileSync(script, `wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ${JSON.stringify(body)}\n`
    + 'done = function(summary, latency, requests)\n  io.write(string.format("P50 %f\\nP99 %f\\nNON2XX %d\\n", latency:percentile(50), latency:percentile(99), summary.errors.status))\nend\n');
  await run('wrk', ['-t', '1', '-c', String(CONC), '-d', '1s', '-s', script, url]); // warm-up
  const out = await run('wrk', ['-t', '1', '-c', String(CONC), '-d', `${SECONDS}s`, '--latency', '-s', script, url]);
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50: num(/P50 ([\d.]+)/) / 1000, p99: num(/P99 ([\d.]+)/) / 1000, non2xx: num(/NON2XX (\d+)/), load: load() };
}

const fmt = (l: Load) => `${l.rps.toFixed(0).padStart(6)} req/s, p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, non-2xx ${l.non2xx} (load ${l.load})`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!haproxyPath()) throw new Error('haproxy is not installed: apt-get install -y haproxy (scripts/test does)');
  if (!/^wrk /m.test(await run('wrk', ['-v']).catch((e) => String(e)))) throw new Error('wrk is not installed: apt-get install -y wrk');
  const cluster = await startCluster(3);
  const balancers: { stop(): Promise<void> }[] = [];
  try {
    log(`bench:cluster: 3 servers on ${cluster.database ? 'PostgreSQL' : 'one SQLite data dir'}, ${os.cpus().length} cores; ` +
      `wrk 1 thread, ${CONC} connections, ${SECONDS} s per point, batch 1 OIP JSON (digits MLP, replicas 0)`);
    if (os.cpus().length <= 4) log(`note: ${os.cpus().length} cores shared by wrk, HAProxy and the servers: this shows the balancer's overhead, not scaling`);
    const [s1] = cluster.nodes.map((n) => new BettongClient({ url: n.url }));
    await s1.uploadModel('digits_mlp', modelBytes('digits_mlp'));
    await s1.createPipeline('digits', [{ model: 'digits_mlp' }]);
    await s1.deploy('digits', { replicas: 0 });
    const digits = expected('digits_mlp');
    const body = JSON.stringify({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: (digits.inputs.input.data as number[]).slice(0, 64) }] });
    const ready = async (url: string) => (await fetch(`${url}/v2/models/digits/infer`, { method: 'POST', body, headers: { 'content-type': 'application/json' } })).status === 200;
    for (const n of cluster.nodes) await until(() => ready(n.url), `digits on ${n.url}`);

    // Every server warmed (JIT) before any point; points in a rotated order each round, the median kept.
    for (const n of cluster.nodes) await wrk(`${n.url}/v2/models/digits/infer`, body);
    const lbs = [];
    for (const k of [1, 2, 3]) {
      const lb = await startBalancer(cluster.nodes.slice(0, k), fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-lb-')));
      balancers.push(lb);
      await until(() => ready(lb.url), 'the balancer');
      lbs.push(lb.url);
    }
    const points = [{ name: 'bare server 1 (baseline)', url: cluster.nodes[0].url }, ...lbs.map((url, i) => ({ name: `HAProxy -> ${i + 1} server(s)`, url }))];
    const runs = new Map<string, Load[]>(points.map((p) => [p.name, []]));
    for (let r = 0; r < ROUNDS_LOAD; r++) {
      for (let i = 0; i < points.length; i++) {
        const p = points[(i + r) % points.length];
        runs.get(p.name)!.push(await wrk(`${p.url}/v2/models/digits/infer`, body));
      }
    }
    const mid = (ls: Load[]) => [...ls].sort((a, b) => a.rps - b.rps)[Math.floor(ls.length / 2)];
    const bare = mid(runs.get(points[0].name)!);
    log(`throughput, median of ${ROUNDS_LOAD} round(s), order rotated each round:`);
    for (const p of points) {
      const l = mid(runs.get(p.name)!);
      log(`  ${p.name.padEnd(26)} ${fmt(l)}  ${(l.rps / bare.rps).toFixed(2)}x bare  [rounds: ${runs.get(p.name)!.map((x) => x.rps.toFixed(0)).join(', ')}]`);
    }

    // Convergence on an idle cluster: from a change's answer on server 1 to servers 2 and 3 acting on it.
    await s1.uploadModel('logreg', modelBytes('breast_cancer_logreg'));
    await s1.uploadModel('logreg_scaled', modelBytes('breast_cancer_logreg_scaled'));
    await s1.createPipeline('bc', [{ model: 'logreg' }]);
    const bc = JSON.stringify(oipRequest(expected('breast_cancer_logreg')));
    const answer = async (url: string) => {
      const r = await fetch(`${url}/v2/models/bc/infer`, { method: 'POST', body: bc, headers: { 'content-type': 'application/json' } });
      return { status: r.status, version: ((await r.json()) as { model_version?: string }).model_version };
    };
    const others = cluster.nodes.slice(1);
    const swaps: number[] = [];
    const undeploys: number[] = [];
    const deploys: number[] = [];
    const own: number[] = [];
    const threaded: number[] = [];
    const ownThreaded: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      let t = Date.now();
      await s1.deploy('bc', { replicas: 0 });
      own.push(Date.now() - t);
      t = Date.now();
      await Promise.all(others.map((n) => until(async () => (await answer(n.url)).status === 200, 'deploy')));
      deploys.push(Date.now() - t);
      const v = String((await s1.swap('bc', { step: 1, model: i % 2 ? 'logreg' : 'logreg_scaled' })).pipeline_version);
      t = Date.now();
      await Promise.all(others.map((n) => until(async () => (await answer(n.url)).version === v, 'swap')));
      swaps.push(Date.now() - t);
      await s1.undeploy('bc');
      t = Date.now();
      await Promise.all(others.map((n) => until(async () => (await answer(n.url)).status === 409, 'undeploy')));
      undeploys.push(Date.now() - t);
      // The default config: a replica worker thread, which each server starts as it loads.
      t = Date.now();
      await s1.deploy('bc', { replicas: 1 });
      ownThreaded.push(Date.now() - t);
      t = Date.now();
      await Promise.all(others.map((n) => until(async () => (await answer(n.url)).status === 200, 'deploy')));
      threaded.push(Date.now() - t);
      await s1.undeploy('bc');
      await Promise.all(others.map((n) => until(async () => (await answer(n.url)).status === 409, 'undeploy')));
    }
    const line = (what: string, xs: number[]) => log(`  ${what.padEnd(50)} median ${median(xs)} ms, max ${Math.max(...xs)} ms  [${xs.join(', ')}]`);
    log(`convergence, ${ROUNDS} rounds, idle cluster, sync every 250 ms (load ${load()}): after server 1 answered, until servers 2 and 3 both act on it`);
    line('deploy (replicas 0) on server 1 itself', own);
    line('deploy: servers 2 and 3 answer', deploys);
    line('swap: servers 2 and 3 answer from the new version', swaps);
    line('undeploy: servers 2 and 3 refuse (409)', undeploys);
    line('deploy (replicas 1, default) on server 1 itself', ownThreaded);
    line('deploy (replicas 1): servers 2 and 3 answer', threaded);
    log('  token revocation: 0 ms by construction (tokens are read from the database on every request; test/cluster.test.ts)');
  } finally {
    for (const b of balancers) await b.stop();
    await cluster.stop();
  }
}

await main();
