/**
 * JavaScript / TypeScript steps: processing functions and custom models, each a module that
 * exports its `signature`, an optional `load()` and `predict(columns, state)`. Columns hold
 * one value per row (a number, string, boolean or nested array), like a DataFrame's columns:
 *
 *   export const signature = {
 *     inputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 2] }],
 *     outputs: [{ name: 'label', datatype: 'BYTES', shape: [-1] }],
 *   };
 *   export function predict({ probabilities }) {
 *     return { label: probabilities.map((p) => (p[1] > 0.5 ? 'malignant' : 'benign')) };
 *   }
 *
 * Each loaded instance runs in its own sandboxed worker process (src/runtimes/sandbox/), which
 * sees only the module and the worker; a call that exceeds the step timeout fails with
 * STEP_TIMEOUT and the process is replaced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { buildSync, transformSync } from 'esbuild';
import { batchToTable, tableToBatch } from '../../codecs/arrow.ts';
import { rowCount } from '../../codecs/records.ts';
import { type Batch, isDataType } from '../../codecs/tensor.ts';
import { fail } from '../../errors/index.ts';
import type { Model, Runtime, RuntimeConfig, Signature, TensorSpec } from '../runtime.ts';
import { type Mount, WorkerProcess } from '../sandbox/index.ts';

const LOAD_TIMEOUT_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 5_000;
/** Transformed step modules and the bundled worker, by content hash (world-readable: the sandbox's user reads them). */
const CACHE = path.join(os.tmpdir(), 'bettong-js');

function cached(name: string, contents: () => string | Uint8Array): string {
  const file = path.join(CACHE, name);
  if (!fs.existsSync(file)) {
    const data = contents();
    fs.mkdirSync(CACHE, { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
    fs.writeFileSync(tmp, data, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
  return file;
}

/** TypeScript is a superset of JavaScript: both go through the same transform. */
function moduleFile(artifact: Uint8Array): string {
  const digest = crypto.createHash('sha256').update(artifact).digest('hex');
  return cached(`${digest}.mjs`, () => {
    try {
      return transformSync(Buffer.from(artifact).toString('utf8'), { loader: 'ts', format: 'esm', target: 'node20' }).code;
    } catch (e) {
      return fail('INVALID_MODEL', `not a loadable JavaScript/TypeScript module: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
  });
}

let workerFile: string | undefined;

/** The files the worker bundle is made of, by path, change time and size: a new bundle when one changes. */
function workerSourcesKey(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const dirs = [here, path.join(here, '../sandbox'), path.join(here, '../../codecs'), path.join(here, '../../errors')];
  const files = dirs.flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith('.ts')).map((f) => path.join(d, f)));
  files.push(path.join(here, '../runtime.ts'), createRequire(import.meta.url).resolve('apache-arrow'));
  const h = crypto.createHash('sha256');
  for (const f of files) {
    const st = fs.statSync(f);
    h.update(`${f}:${st.mtimeMs}:${st.size}\n`);
  }
  return h.digest('hex').slice(0, 16);
}

/** The worker and everything it imports (codecs, apache-arrow) as one file, built once. */
function workerBundle(): string {
  workerFile ??= cached(`worker-${workerSourcesKey()}.mjs`, () => buildSync({
    entryPoints: [fileURLToPath(new URL('./worker.ts', import.meta.url))],
    bundle: true, platform: 'node', format: 'esm', target: 'node20', write: false, logLevel: 'silent',
  }).outputFiles[0].contents);
  return workerFile;
}

/** Node itself: under /usr it is already visible in the sandbox; elsewhere it is mounted. */
function nodeCommand(): { exe: string; mounts: Mount[] } {
  const exe = fs.realpathSync(process.execPath);
  return exe.startsWith('/usr/') ? { exe, mounts: [] } : { exe: '/opt/node/bin/node', mounts: [{ host: exe, inside: '/opt/node/bin/node' }] };
}

function checkSignature(sig: unknown): Signature {
  const bad = (why: string): never => fail('INVALID_MODEL', `the module's exported signature ${why}`);
  if (!sig || typeof sig !== 'object') bad('is missing: export const signature = { inputs: [...], outputs: [...] }');
  const specs = (kind: 'inputs' | 'outputs'): TensorSpec[] => {
    const list = (sig as Record<string, unknown>)[kind];
    if (!Array.isArray(list) || list.length === 0) bad(`needs a non-empty '${kind}' list`);
    return (list as Record<string, unknown>[]).map((s, i) => {
      if (!s || typeof s.name !== 'string' || !s.name) bad(`${kind}[${i}] needs a name`);
      if (!isDataType(s.datatype)) bad(`${kind}[${i}] '${s.name}' has unknown datatype ${JSON.stringify(s.datatype)}`);
      const shape = Array.isArray(s.shape) ? s.shape : [-1];
      if (!shape.every((d: unknown) => Number.isInteger(d) && (d as number) >= -1) || shape.length === 0 || shape[0] !== -1) {
        bad(`${kind}[${i}] '${s.name}' needs a shape like [-1] or [-1, 3] (rows first)`);
      }
      return { name: s.name as string, datatype: s.datatype as TensorSpec['datatype'], shape: shape as number[] };
    });
  };
  return { inputs: specs('inputs'), outputs: specs('outputs') };
}

/** A step module running in its worker process. */
class JsModel implements Model {
  signature!: Signature;
  private readonly worker: WorkerProcess;

  constructor(artifact: Uint8Array, private readonly config: RuntimeConfig) {
    const node = nodeCommand();
    this.worker = new WorkerProcess({
      name: config.name ?? 'js step',
      spec: {
        argv: [node.exe, '/runtime/worker.mjs', '/step/module.mjs'],
        mounts: [...node.mounts, { host: workerBundle(), inside: '/runtime/worker.mjs' }, { host: moduleFile(artifact), inside: '/step/module.mjs' }],
      },
      settings: config.sandbox ?? {},
      loadTimeoutMs: LOAD_TIMEOUT_MS,
    });
  }

  async start(): Promise<this> {
    await this.worker.start();
    try {
      this.signature = checkSignature((this.worker.hello as { signature?: unknown }).signature);
    } catch (e) {
      await this.worker.dispose();
      throw e;
    }
    return this;
  }

  async predict(inputs: Batch): Promise<Batch> {
    const rows = rowCount(inputs);
    const reply = await this.worker.call(tableToIPC(batchToTable(inputs), 'stream'), this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    // The worker is untrusted: its answer is read like any client's Arrow table.
    let outputs: Batch;
    try {
      outputs = tableToBatch(tableFromIPC(reply), this.signature.outputs);
    } catch (e) {
      return fail('STEP_FAILED', `returned a malformed batch: ${(e as Error).message}`);
    }
    for (const t of outputs) {
      if (t.shape[0] !== rows) fail('STEP_FAILED', `returned a malformed batch: output '${t.name}' has ${t.shape[0]} rows, expected ${rows}`);
    }
    return outputs;
  }

  dispose(): Promise<void> {
    return this.worker.dispose();
  }
}

export const jsRuntime: Runtime = {
  name: 'js',
  platform: 'bettong_js',
  async inspect(artifact, config: RuntimeConfig = {}) {
    const model = await new JsModel(artifact, config).start();
    await model.dispose();
    return model.signature;
  },
  load(artifact, config: RuntimeConfig = {}) {
    return new JsModel(artifact, config).start();
  },
};
