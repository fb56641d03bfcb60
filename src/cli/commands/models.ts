/** `bettong model ...`: register and inspect models. */
import fs from 'node:fs';
import { table } from '../format.ts';
import type { Command } from 'commander';
import type { Cli } from '../context.ts';
import { mib, progress } from '../progress.ts';

/** Uploads smaller than this finish before a progress bar would be read. */
const PROGRESS_FROM_BYTES = 1024 * 1024;

export function modelCommands(program: Command, { client, print, int, asJson }: Cli): void {
  const model = program.command('model').description('register and inspect models');
  model.command('upload <name> <file>')
    .description('upload an ONNX file, or a JavaScript/TypeScript step module, as a new model version')
    .option('--runtime <runtime>', 'onnx or js (default: js for .js/.mjs/.ts files, else onnx)')
    .action(async (name: string, file: string, o: { runtime?: 'onnx' | 'js' }) => {
    const runtime = o.runtime ?? (/\.(m?js|ts|mts)$/i.test(file) ? 'js' : 'onnx');
    const bytes = fs.readFileSync(file);
    const bar = bytes.length >= PROGRESS_FROM_BYTES ? progress(asJson(), `uploading ${name} {bar} {percentage}% of ${mib(bytes.length)} MiB`, bytes.length) : undefined;
    let v;
    try {
      v = await client().uploadModel(name, bytes, { runtime, ...(bar ? { onProgress: (sent: number) => bar.update(sent) } : {}) });
    } finally {
      bar?.stop();
    }
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
}
