/**
 * Inference-log ingest into PostgreSQL beside SQLite, in one run (issue 14): the same server, the
 * same load (bench/speed.ts's ingest: records route, 1,000-row requests driven by wrk, every row
 * read back by paging), once on the embedded SQLite store and once with `BETTONG_DATABASE_URL`
 * on a fresh PostgreSQL database; then the log writer alone on each. Run through
 * `npm run bench:postgres`, which starts a throwaway cluster with PostgreSQL's default
 * durability (scripts/with-postgres --durable): fsync on, as SQLite's WAL with synchronous=NORMAL is durable to a process crash.
 */
import os from 'node:os';
import pg from 'pg';
import { ingestRun, nothingLost, writerAlone } from './speed.ts';

const ADMIN = process.env.BETTONG_TEST_DATABASE_URL;
if (!ADMIN) throw new Error('run through `npm run bench:postgres` (scripts/with-postgres sets BETTONG_TEST_DATABASE_URL)');
const SECONDS = Number(process.env.BENCH_INGEST_SECONDS ?? 6);
const log = (s: string) => process.stderr.write(`${s}\n`);
const load = () => os.loadavg()[0].toFixed(2);

let n = 0;
/** A fresh database on the throwaway cluster, as a URL. */
async function freshDatabase(): Promise<string> {
  const name = `bench_${process.pid}_${n++}`;
  const c = new pg.Client(ADMIN);
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`).finally(() => c.end());
  const url = new URL(ADMIN!);
  url.pathname = `/${name}`;
  return url.toString();
}

log(`bench/postgres.ts on ${os.cpus().length} cores, load ${load()}; ingest ${SECONDS}s per store`);
const table: string[][] = [];
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;

const sqlite = await ingestRun(process.cwd());
log(`  records route, SQLite: ${sqlite.answered.toFixed(0)} rows/s, ${sqlite.logged} logged of ${sqlite.served} served (load ${load()})`);
const postgres = await ingestRun(process.cwd(), { BETTONG_DATABASE_URL: await freshDatabase() });
log(`  records route, PostgreSQL: ${postgres.answered.toFixed(0)} rows/s, ${postgres.logged} logged of ${postgres.served} served (load ${load()})`);
table.push(['records route, 1,000-row requests, wrk, nothing lost', `${postgres.answered.toFixed(0)} rows/s, ${postgres.logged} logged of ${postgres.served} served`,
  `${sqlite.answered.toFixed(0)} rows/s, ${sqlite.logged} logged of ${sqlite.served} served`, ratio(postgres.answered, sqlite.answered)]);
table.push(['paging read-back (limit 10,000)', `${postgres.paging.toFixed(0)} rows/s`, `${sqlite.paging.toFixed(0)} rows/s`, ratio(postgres.paging, sqlite.paging)]);

const ws = await writerAlone();
log(`  log writer alone, SQLite: ${ws.rps.toFixed(0)} rows/s, ${ws.written}/${ws.rows} (load ${load()})`);
const wp = await writerAlone(await freshDatabase());
log(`  log writer alone, PostgreSQL: ${wp.rps.toFixed(0)} rows/s, ${wp.written}/${wp.rows} (load ${load()})`);
table.push(['log writer alone (in process, digits-shaped 1,000-row entries)', `${wp.rps.toFixed(0)} rows/s, ${wp.written}/${wp.rows} written`,
  `${ws.rps.toFixed(0)} rows/s, ${ws.written}/${ws.rows} written`, ratio(wp.rps, ws.rps)]);

console.log('\n| ingest | PostgreSQL | SQLite (baseline, same run) | PostgreSQL / SQLite |\n|---|---|---|---|');
for (const r of table) console.log(`| ${r.join(' | ')} |`);
const lost = !nothingLost(postgres) || wp.written !== wp.rows;
if (lost) { console.log('ROWS LOST on PostgreSQL'); process.exitCode = 1; }
