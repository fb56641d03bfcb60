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
import { buildSync, transformSync } from 'esbuild';
import { fail } from '../../errors/index.ts';
import type { Runtime, RuntimeConfig } from '../runtime.ts';
import { type LaunchSpec, type Mount, ProcessModel } from '../sandbox/index.ts';

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


/** The worker, bundled, and the step module, both read-only, run by the server's own Node. */
function launchSpec(artifact: Uint8Array): LaunchSpec {
  const node = nodeCommand();
  return {
    argv: [node.exe, '/runtime/worker.mjs', '/step/module.mjs'],
    mounts: [...node.mounts, { host: workerBundle(), inside: '/runtime/worker.mjs' }, { host: moduleFile(artifact), inside: '/step/module.mjs' }],
  };
}

const HOW = 'export const signature = { inputs: [...], outputs: [...] }';

export const jsRuntime: Runtime = {
  name: 'js',
  platform: 'bettong_js',
  inspect(artifact, config: RuntimeConfig = {}) {
    return ProcessModel.inspect(launchSpec(artifact), config, HOW);
  },
  load(artifact, config: RuntimeConfig = {}) {
    return ProcessModel.start(launchSpec(artifact), config, HOW);
  },
};
