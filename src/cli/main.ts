/** The `bettong` command line. Everything but `serve` goes through the typed client (sdk/). */
import { Command, Option } from 'commander';
import { BettongApiError, BettongClient } from '../sdk/index.ts';
import { VERSION } from '../version.ts';
import { accessCommands } from './commands/access.ts';
import { inferCommands } from './commands/infer.ts';
import { logCommands } from './commands/logs.ts';
import { assayCommands } from './commands/assays.ts';
import { monitorCommands } from './commands/monitors.ts';
import { modelCommands } from './commands/models.ts';
import { pipelineCommands } from './commands/pipelines.ts';
import { completionCommand } from './completion.ts';
import type { Cli } from './context.ts';
import { serve } from './serve.ts';
import { LOG_LEVELS } from '../server/logging.ts';

const program = new Command('bettong')
  .description('Bettong: register, deploy, serve and observe ML models')
  .version(VERSION)
  .addOption(new Option('--url <url>', 'server URL').env('BETTONG_URL').default('http://127.0.0.1:8080'))
  .addOption(new Option('--token <token>', 'API token (prefer the environment variable: arguments show in ps)').env('BETTONG_TOKEN'))
  .addOption(new Option('--workspace <name>', 'the workspace commands act in (default: the server\'s default workspace)').env('BETTONG_WORKSPACE'))
  .option('--json', 'print machine-readable JSON');

const client = () => new BettongClient({ url: program.opts().url, token: program.opts().token, workspace: program.opts().workspace });
const asJson = () => program.opts().json === true;
const print = (value: unknown, human: () => string) => console.log(asJson() ? JSON.stringify(value, null, 2) : human());

const int = (what: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what} must be a positive integer, got '${v}'`);
  return n;
};

program.command('serve')
  .description('run the platform: control plane and inference endpoints')
  .addOption(new Option('--data-dir <dir>', 'where the SQLite database and artifacts live').env('BETTONG_DATA_DIR').default('./bettong-data'))
  .addOption(new Option('--database <url>', 'a postgres:// URL: keep state and inference logs in PostgreSQL instead of SQLite').env('BETTONG_DATABASE_URL'))
  .addOption(new Option('--artifacts <url>', 'where model artifacts live: s3://bucket/prefix (AWS_* variables), database, or a directory (default: <data-dir>/artifacts)').env('BETTONG_ARTIFACTS'))
  .addOption(new Option('--artifacts-endpoint <url>', 'endpoint of an S3-compatible store, addressed path-style (default: AWS_ENDPOINT_URL, else AWS S3)').env('BETTONG_ARTIFACTS_ENDPOINT'))
  .addOption(new Option('--host <host>', 'address to bind').env('BETTONG_HOST').default('127.0.0.1'))
  .addOption(new Option('--port <port>', 'port to listen on').env('BETTONG_PORT').default('8080'))
  .addOption(new Option('--grpc-port <port>', 'port for the Open Inference Protocol over gRPC (default 8081; 0 when --port is 0: a free one)').env('BETTONG_GRPC_PORT'))
  .option('--body-limit <mb>', 'largest request body in MiB (model uploads excepted)', '64')
  .option('--demo', 'register and deploy the sample digits model as pipeline "digits"')
  .option('--auth', 'every request needs an API token (BETTONG_AUTH=1); required to bind anything but loopback')
  .addOption(new Option('--rate-limit <n>', 'inference requests per second per token (default: unlimited)').env('BETTONG_RATE_LIMIT'))
  .addOption(new Option('--rate-burst <n>', 'inference requests a token may make at once (default: the rate)').env('BETTONG_RATE_BURST'))
  .addOption(new Option('--log-level <level>', 'JSON log lines on stdout: one per request and gRPC call at info, failures at error').env('BETTONG_LOG_LEVEL').choices(LOG_LEVELS).default('info'))
  .option('--allow-private-webhooks', 'let assay alert webhooks reach private, loopback and link-local addresses (local setups)')
  .addOption(new Option('--metrics-port <port>', 'also serve /metrics without a token on this port of 127.0.0.1').env('BETTONG_METRICS_PORT'))
  .addOption(new Option('--log-backlog <mb>', 'unwritten inference log MiB past which inference answers 503 LOG_STORE_UNAVAILABLE').env('BETTONG_LOG_BACKLOG_MB').default('64'))
  .addOption(new Option('--python <path>', 'the Python interpreter for Python steps; its environment needs pandas, numpy, pyarrow (default: python3)').env('BETTONG_PYTHON'))
  .addOption(new Option('--cache-dir <dir>', "where Python steps' environments (one per requirements.txt) are built and kept (default: cache/ in the data dir)").env('BETTONG_CACHE_DIR'))
  .option('--unsandboxed-custom-code', 'run JavaScript/Python steps without the bubblewrap sandbox (only where none is available, for trusted code)')
  .action(serve);

const cli: Cli = { client, print, asJson, int };
modelCommands(program, cli);
pipelineCommands(program, cli);
inferCommands(program, cli);
logCommands(program, cli);
assayCommands(program, cli);
monitorCommands(program, cli);
accessCommands(program, cli);
completionCommand(program);

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
