/** `bettong model ...`: register and inspect models. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { table } from '../format.ts';
import type { Command } from 'commander';
import type { Cli } from '../context.ts';
import { mib, progress } from '../progress.ts';

/** Uploads smaller than this finish before a progress bar would be read. */
const PROGRESS_FROM_BYTES = 1024 * 1024;

/** A Python model's folder as the .tar.gz the server unpacks (model.py at its top). */
function packFolder(dir: string): Buffer {
  if (!fs.existsSync(path.join(dir, 'model.py'))) throw new Error(`${dir} holds no model.py`);
  const r = spawnSync('tar', ['-czf', '-', '-C', dir, '.'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`could not pack ${dir}: ${r.stderr?.toString() || r.error?.message}`);
  return r.stdout;
}

export function modelCommands(program: Command, { client, print, int, asJson }: Cli): void {
  const model = program.command('model').description('register and inspect models');
  model.command('upload <name> <file>')
    .description('upload an ONNX file, a JavaScript/TypeScript step module, a Python model (model.py, a folder or a .zip/.tar.gz holding it) a pickled/joblib scikit-learn estimator, an XGBoost booster (.json/.ubj) or a LightGBM model file as a new model version')
    .option('--runtime <runtime>', 'onnx, js or python (default: by the file: .js/.mjs/.ts js; .py, .zip, .tar.gz, .pkl, .joblib, .ubj or a folder python; else onnx; XGBoost .json and LightGBM .txt need --runtime python)')
    .option('--network', 'a JavaScript/Python model may open network connections (off: no network; recorded in the audit log)')
    .action(async (name: string, file: string, o: { runtime?: 'onnx' | 'js' | 'python'; network?: boolean }) => {
    const folder = fs.statSync(file).isDirectory();
    const runtime = o.runtime ?? (folder || /\.(py|zip|tar\.gz|tgz|pkl|pickle|joblib|ubj)$/i.test(file) ? 'python' : /\.(m?js|ts|mts)$/i.test(file) ? 'js' : 'onnx');
    const bytes = folder ? packFolder(file) : fs.readFileSync(file);
    const bar = bytes.length >= PROGRESS_FROM_BYTES ? progress(asJson(), `uploading ${name} {bar} {percentage}% of ${mib(bytes.length)} MiB`, bytes.length) : undefined;
    let v;
    try {
      v = await client().uploadModel(name, bytes, { runtime, network: o.network, ...(bar ? { onProgress: (sent: number) => bar.update(sent) } : {}) });
    } finally {
      bar?.stop();
    }
    if (v.status === 'building') {
      print(v, () => `registered: model ${v.model} version ${v.version} (sha256 ${v.sha256.slice(0, 12)}); its environment is building: bettong model build ${v.model} --version ${v.version}`);
      return;
    }
    print(v, () => `${v.created ? 'registered' : 'already registered'}: model ${v.model} version ${v.version} (sha256 ${v.sha256.slice(0, 12)})\n` +
      table([...v.signature.inputs.map((s) => ({ kind: 'input', ...s })), ...v.signature.outputs.map((s) => ({ kind: 'output', ...s }))]));
  });
  model.command('build <name>').description("a Python model version's environment build (requirements.txt): status and log")
    .option('--version <n>', 'model version (default: the latest)', int('version'))
    .option('--wait', 'wait until it is ready or failed')
    .action(async (name: string, o: { version?: number; wait?: boolean }) => {
      const version = o.version ?? (await client().getModel(name)).versions.at(-1)!.version;
      let b = await client().modelBuild(name, version);
      while (o.wait && b.status === 'building') {
        await new Promise((r) => setTimeout(r, 1000));
        b = await client().modelBuild(name, version);
      }
      print(b, () => `model ${name} version ${version}: ${b.status}\n${b.log}`);
      if (b.status === 'failed') process.exitCode = 1;
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
}
