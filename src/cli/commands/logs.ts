/** `bettong logs`: read and export inference logs. */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { csv } from '../format.ts';
import { parseSince } from '../context.ts';
import { type Command, Option } from 'commander';
import type { Cli } from '../context.ts';
import { mib, progress } from '../progress.ts';

export function logCommands(program: Command, { client, print, asJson, int }: Cli): void {
  program.command('logs <pipeline>').description('read a pipeline\'s inference logs (newest first unless --since is given)')
    .option('--since <time>', 'start: ISO time, epoch ms, or a duration ago (10m, 2h, 1d)')
    .option('--until <time>', 'end: ISO time or epoch ms')
    .option('--limit <n>', 'rows to read', int('limit'), 100)
    .option('--all', 'every matching row (pages through the logs)')
    .option('--export <file>', 'stream every matching row to a JSON Lines file')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json'))
    .action(async (name: string, o: { since?: string; until?: string; limit: number; all?: boolean; export?: string; format: string }) => {
      const range = { start: o.since ? parseSince(o.since) : undefined, end: o.until };
      if (o.export) {
        const stream = await client().exportLogs(name, range);
        const bar = progress(asJson(), 'exporting logs: {value} rows, {mib} MiB', 0, { mib: mib(0) });
        let rows = 0;
        let bytes = 0;
        const counted = stream.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, out) {
            for (const b of chunk) if (b === 10) rows++; // JSON Lines: one row per line
            bytes += chunk.length;
            bar.update(rows, { mib: mib(bytes) });
            out.enqueue(chunk);
          },
        }));
        try {
          await counted.pipeTo(Writable.toWeb(fs.createWriteStream(o.export)) as WritableStream<Uint8Array>);
        } finally {
          bar.stop();
        }
        print({ file: path.resolve(o.export), rows }, () => `exported ${rows} rows to ${o.export}`);
        return;
      }
      let records;
      if (o.all) {
        records = [];
        for await (const r of client().iterateLogs(name, range)) records.push(r);
      } else {
        records = (await client().logs(name, { ...range, limit: o.limit })).records;
      }
      process.stdout.write(o.format === 'csv' && !asJson() ? csv(records) : `${JSON.stringify(records, null, asJson() ? 2 : undefined)}\n`);
    });
}
