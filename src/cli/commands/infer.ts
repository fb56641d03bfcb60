/** `bettong infer`: records from a file in, result rows out. */
import { csv } from '../format.ts';
import { readRecords } from '../input.ts';
import { type Command, Option } from 'commander';
import type { Cli } from '../context.ts';

export function inferCommands(program: Command, { client, asJson }: Cli): void {
  program.command('infer <pipeline>').description('infer on records from a JSON or CSV file')
    .requiredOption('--input <file>', 'records JSON (a DataFrame written with orient="records"), JSON Lines or CSV')
    .addOption(new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json'))
    .action(async (name: string, o: { input: string; format: string }) => {
      const rows = await client().inferRecords(name, readRecords(o.input));
      process.stdout.write(o.format === 'csv' && !asJson() ? csv(rows) : `${JSON.stringify(rows, null, asJson() ? 2 : undefined)}\n`);
    });
}
