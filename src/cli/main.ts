/** The `bettong` command line. Everything but `serve` goes through the typed client (sdk/). */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { Command, Option } from 'commander';
import { BettongApiError, BettongClient, type StepRef } from '../sdk/index.ts';
import { VERSION } from '../version.ts';
import { csv, table } from './format.ts';
import { readRecords } from './input.ts';
import { serve } from './serve.ts';

const program = new Command('bettong')
  .description('Bettong: register, deploy, serve and observe ML models')
  .version(VERSION)
  .addOption(new Option('--url <url>', 'server URL').env('BETTONG_URL').default('http://127.0.0.1:8080'))
  .option('--json', 'print machine-readable JSON');

const client = () => new BettongClient({ url: program.opts().url });
const asJson = () => program.opts().json === true;
const print = (value: unknown, human: () => string) => console.log(asJson() ? JSON.stringify(value, null, 2) : human());

const int = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got '${v}'`);
  return n;
};

/** "10m", "2h", "1d" before now, or an ISO time / epoch ms as is. */
export function parseSince(v: string): string {
  const m = /^(\d+)(s|m|h|d)$/.exec(v);
  if (!m) return v;
  const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return String(Date.now() - Number(m[1]) * unit);
}

program.command('serve')
  .description('run the platform: control plane and inference endpoints')
  .addOption(new Option('--data-dir <dir>', 'where the SQLite database and artifacts live').env('BETTONG_DATA_DIR').default('./bettong-data'))
  .addOption(new Option('--host <host>', 'address to bind').env('BETTONG_HOST').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'port to listen on').env('BETTONG_PORT').default('8080'))
  .option('--body-limit <mb>', 'largest request body in MiB (model uploads excepted)', '64')
  .option('--demo', 'register and deploy the sample digits model as pipeline "digits"')
  .action(serve);

const model = program.command('model').description('register and inspect models');
model.command('upload <name> <file>').description('upload an ONNX file as a new model version').action(async (name: string, file: string) => {
  const v = await client().uploadModel(name, fs.readFileSync(file));
  print(v, () => `${v.created ? 'registered' : 'already registered'}: model ${v.model} version ${v.version} (sha256 ${v.sha256.slice(0, 12)})\n` +
    table([...v.signature.inputs.map((s) => ({ kind: 'input', ...s })), ...v.signature.outputs.map((s) => ({ kind: 'output', ...s }))]));
});
model.command('list').description('list models').action(async () => {
  const models = await client().listModels();
  print(models, () => table(models as unknown as Record<string, unknown>[]));
});
model.command('show <name>').description('a model with its versions and signatures').action(async (name: string) => {
  const m = await client().getModel(name);
  print(m, () => `model ${m.name}\n` + table(m.versions.map((v) => ({
    version: v.version, sha256: v.sha256.slice(0, 12), size: v.size, runtime: v.runtime,
    inputs: v.signature.inputs.map((s) => `${s.name}:${s.datatype}[${s.shape.join(',')}]`).join(' '),
    outputs: v.signature.outputs.map((s) => `${s.name}:${s.datatype}[${s.shape.join(',')}]`).join(' '),
    created_at: v.created_at,
  }))));
});
model.command('download <name> <version>').description('download a model version artifact')
  .option('-o, --output <file>', 'file to write (default NAME-vVERSION.onnx)')
  .action(async (name: string, version: string, o: { output?: string }) => {
    const bytes = await client().downloadModel(name, int('version')(version));
    const file = o.output ?? `${name}-v${version}.onnx`;
    fs.writeFileSync(file, bytes);
    print({ file, bytes: bytes.length }, () => `wrote ${bytes.length} bytes to ${file}`);
  });

const pipeline = program.command('pipeline').description('build, deploy and inspect pipelines');
pipeline.command('create <name>').description('create a pipeline (or a new version of it) from ordered steps')
  .requiredOption('--step <model[:version]>', 'a model step, in order (repeat the option)', (v: string, acc: string[]) => [...acc, v], [])
  .action(async (name: string, o: { step: string[] }) => {
    const steps: StepRef[] = o.step.map((s) => {
      const [m, v] = s.split(':');
      return v === undefined ? { model: m } : { model: m, version: int('step version')(v) };
    });
    const pv = await client().createPipeline(name, steps);
    print(pv, () => `${pv.created ? 'created' : 'unchanged'}: pipeline ${pv.pipeline} version ${pv.version}\n` +
      table(pv.steps.map((s, i) => ({ step: i + 1, model: s.model, version: s.model_version, wiring: s.wiring ?? '' }))));
  });
pipeline.command('list').description('list pipelines').action(async () => {
  const ps = await client().listPipelines();
  print(ps, () => table(ps as unknown as Record<string, unknown>[]));
});
pipeline.command('show <name>').description('a pipeline: latest version, signature and deployment').action(async (name: string) => {
  const p = await client().getPipeline(name);
  print(p, () => [
    `pipeline ${p.name}: ${p.versions} version(s), deployment ${p.deployment.status}${p.deployment.pipeline_version ? ` (version ${p.deployment.pipeline_version})` : ''}`,
    table(p.latest.steps.map((s, i) => ({ step: i + 1, model: s.model, version: s.model_version }))),
    table([...p.latest.signature.inputs.map((s) => ({ kind: 'input', ...s })), ...p.latest.signature.outputs.map((s) => ({ kind: 'output', ...s }))]),
  ].join('\n'));
});
pipeline.command('versions <name>').description('all versions of a pipeline').action(async (name: string) => {
  const vs = await client().pipelineVersions(name);
  print(vs, () => table(vs.map((v) => ({ version: v.version, steps: v.steps.map((s) => `${s.model}:${s.model_version}`).join(' -> '), created_at: v.created_at }))));
});
pipeline.command('deploy <name>').description('deploy a pipeline version (latest by default)')
  .option('--version <n>', 'pipeline version', int('version'))
  .option('--replicas <n>', 'model instances per step', int('replicas'))
  .option('--threads <n>', 'threads per model instance', int('threads'))
  .action(async (name: string, o: { version?: number; replicas?: number; threads?: number }) => {
    const s = await client().deploy(name, o);
    print(s, () => `pipeline ${s.pipeline} version ${s.pipeline_version}: ${s.status} (replicas ${s.config?.replicas})`);
  });
pipeline.command('undeploy <name>').description('stop serving a pipeline').action(async (name: string) => {
  const s = await client().undeploy(name);
  print(s, () => `pipeline ${s.pipeline}: ${s.status}`);
});
pipeline.command('status <name>').description('deployment status of a pipeline').action(async (name: string) => {
  const s = await client().deploymentStatus(name);
  print(s, () => table([{ pipeline: s.pipeline, version: s.pipeline_version, status: s.status, replicas: s.config?.replicas, threads: s.config?.threads, error: s.error, updated_at: s.updated_at }]));
});

program.command('infer <pipeline>').description('infer on records from a JSON or CSV file')
  .requiredOption('--input <file>', 'records JSON (a DataFrame written with orient="records"), JSON Lines or CSV')
  .addOption(new Option('--format <format>', 'output format').choices(['json', 'csv']).default('json'))
  .action(async (name: string, o: { input: string; format: string }) => {
    const rows = await client().inferRecords(name, readRecords(o.input));
    process.stdout.write(o.format === 'csv' && !asJson() ? csv(rows) : `${JSON.stringify(rows, null, asJson() ? 2 : undefined)}\n`);
  });

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
      await stream.pipeTo(Writable.toWeb(fs.createWriteStream(o.export)) as WritableStream<Uint8Array>);
      const rows = fs.readFileSync(o.export, 'utf8').split('\n').filter(Boolean).length;
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

try {
  await program.parseAsync();
} catch (e) {
  if (e instanceof BettongApiError) {
    console.error(asJson() ? JSON.stringify({ error: e.message, code: e.code, status: e.status }) : `error ${e.code}: ${e.message}`);
  } else {
    console.error(`error: ${(e as Error).message}`);
  }
  process.exitCode = 1;
}
