/** The CLI as a user runs it: a `bettong serve` process and `bettong` commands against it. */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { MODELS, ROOT, expected, serveEnv, tempDir, testServer } from './helpers.ts';

const BIN = path.join(ROOT, 'bin', 'bettong.mjs');
const exec = promisify(execFile);

async function startServe(dataDir: string): Promise<{ proc: ChildProcess; url: string }> {
  const env = { ...process.env, ...(await serveEnv(dataDir)) };
  const proc = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], env });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 20_000);
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.stderr!.on('data', (d) => { out += d; });
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
  });
  return { proc, url };
}

describe('bettong CLI', () => {
  let server: { proc: ChildProcess; url: string };
  const dataDir = tempDir();
  const work = tempDir();
  const bettong = async (...args: string[]) => {
    const { stdout } = await exec(process.execPath, [BIN, '--url', server.url, ...args]);
    return stdout;
  };
  const json = async (...args: string[]) => JSON.parse(await bettong('--json', ...args));

  before(async () => { server = await startServe(dataDir); });
  after(() => { server.proc.kill('SIGKILL'); });

  it('uploads, lists and shows models', async () => {
    const v = await json('model', 'upload', 'digits', path.join(MODELS, 'digits_mlp.onnx'));
    assert.equal(v.version, 1);
    assert.deepEqual((await json('model', 'list')).map((m: any) => m.name), ['digits']);
    assert.match(await bettong('model', 'show', 'digits'), /input:FP32\[-1,64\]/);
  });

  it('creates, deploys and reports a pipeline', async () => {
    const pv = await json('pipeline', 'create', 'd', '--step', 'digits:1');
    assert.equal(pv.version, 1);
    const st = await json('pipeline', 'deploy', 'd', '--replicas', '1');
    assert.equal(st.status, 'running');
    assert.match(await bettong('pipeline', 'status', 'd'), /running/);
  });

  it('infers from a records JSON file and from a CSV of feature columns', async () => {
    const e = expected('digits_mlp');
    const flat = e.inputs.input.data as number[];
    const rows = [0, 1, 2, 3, 4].map((i) => flat.slice(i * 64, (i + 1) * 64));
    const jsonFile = path.join(work, 'in.json');
    fs.writeFileSync(jsonFile, JSON.stringify(rows.map((input) => ({ input }))));
    const out = await json('infer', 'd', '--input', jsonFile);
    assert.deepEqual(out.map((r: any) => r['out.label']), e.outputs.label.data);
    const csvFile = path.join(work, 'in.csv');
    fs.writeFileSync(csvFile, [rows[0].map((_, j) => `pixel${j}`).join(','), ...rows.map((r) => r.join(','))].join('\n'));
    const fromCsv = JSON.parse(await bettong('infer', 'd', '--input', csvFile));
    assert.deepEqual(fromCsv.map((r: any) => r['out.label']), e.outputs.label.data);
  });

  it('pipeline status shows the traffic of the last minute', async () => {
    const st = await json('pipeline', 'status', 'd');
    assert.equal(st.traffic.requests, 2);
    assert.equal(st.traffic.errors, 0);
    assert.match(await bettong('pipeline', 'status', 'd'), /last 60 s: 2 requests \([\d.]+\/s\), error rate 0\.0%, latency p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms/);
  });

  it('completes commands, subcommands, options and their choices in bash and zsh', async () => {
    const script = path.join(work, 'bettong.bash');
    fs.writeFileSync(script, await bettong('completion', 'bash'));
    const complete = async (...words: string[]) => (await exec('bash', ['-c',
      'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _bettong; echo "${COMPREPLY[*]}"', '_', script, 'bettong', ...words])).stdout.trim();
    assert.equal(await complete('pipe'), 'pipeline');
    assert.equal(await complete('pipeline', 'dep'), 'deploy');
    assert.equal(await complete('--json', 'pipeline', 'status', '--w'), '--window');
    assert.equal(await complete('logs', 'd', '--format', ''), 'json csv');
    assert.equal(await complete('completion', ''), 'bash zsh');
    assert.match(await complete(''), /^serve model pipeline .*completion$/);
    const zsh = await bettong('completion', 'zsh');
    assert.match(zsh, /^#compdef bettong\nautoload -U \+X bashcompinit && bashcompinit\n/);
    await assert.rejects(bettong('completion', 'fish'), /Allowed choices are bash, zsh/);
  });

  it('shows progress for log export and large uploads on a terminal only, never with --json', async () => {
    // `script` runs the command on a pseudo-terminal and records what it wrote there.
    const onTty = async (...args: string[]) => {
      const cmd = [process.execPath, BIN, '--url', server.url, ...args].map((a) => `'${a}'`).join(' ');
      return (await exec('script', ['-qec', cmd, '/dev/null'], { maxBuffer: 16 * 1024 * 1024 })).stdout;
    };
    const file = path.join(work, 'tty.jsonl');
    assert.match(await onTty('logs', 'd', '--export', file), /exporting logs: \d+ rows, [\d.]+ MiB/);
    assert.match(await onTty('logs', 'd', '--export', file), /exported 10 rows/);
    const json = await onTty('--json', 'logs', 'd', '--export', file);
    assert.doesNotMatch(json, /exporting logs/);
    assert.equal(JSON.parse(json.slice(json.indexOf('{'))).rows, 10);
    const piped = await exec(process.execPath, [BIN, '--url', server.url, 'logs', 'd', '--export', file]);
    assert.equal(piped.stderr, '');
    assert.equal(piped.stdout.trim(), `exported 10 rows to ${file}`);

    // A JavaScript step padded past the 1 MiB from which uploads show progress.
    const big = path.join(work, 'big.mjs');
    fs.writeFileSync(big, "export const signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1] }] };\n" +
      'export function predict({ x }) { return { y: x }; }\n' + `// ${'0'.repeat(3 * 1024 * 1024)}\n`);
    const up = await onTty('model', 'upload', 'big', big);
    assert.match(up, /uploading big .* 100% of 3\.0 MiB/);
    assert.match(up, /registered: model big version 1/);
    assert.doesNotMatch(await onTty('--json', 'model', 'upload', 'big', big), /uploading/);
  });

  it('reads logs as JSON and CSV and exports them to JSON Lines', async () => {
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await json('logs', 'd', '--limit', '3')).length, 3);
    const csv = await bettong('logs', 'd', '--format', 'csv', '--since', '1h');
    assert.match(csv.split('\n')[0], /time,in\.input,out\.label/);
    assert.equal(csv.trim().split('\n').length, 11);
    const file = path.join(work, 'logs.jsonl');
    const res = await json('logs', 'd', '--export', file);
    assert.equal(res.rows, 10);
    assert.equal(fs.readFileSync(file, 'utf8').trim().split('\n').length, 10);
  });

  it('fails with the server error code and a non-zero exit', async () => {
    await assert.rejects(bettong('pipeline', 'deploy', 'nope'), (e: any) => e.code === 1 && /PIPELINE_NOT_FOUND/.test(e.stderr));
    await assert.rejects(bettong('--json', 'model', 'upload', 'bad', path.join(MODELS, '..', 'README.md')),
      (e: any) => JSON.parse(e.stderr).code === 'INVALID_MODEL');
  });

  it('builds experiments: JavaScript steps, A/B, shadow, validations, compare, swap', async () => {
    await json('model', 'upload', 'bc', path.join(MODELS, 'breast_cancer_logreg.onnx'));
    const js = await json('model', 'upload', 'mm', path.join(MODELS, '..', 'steps', 'mean_model.ts'));
    assert.equal(js.runtime, 'js');
    const pv = await json('pipeline', 'create', 'exp', '--ab', 'bc=3,mm=1', '--key', 'metadata.user', '--validation', 'positive=out.probabilities[0] >= 0');
    assert.equal(pv.steps[0].kind, 'ab');
    assert.deepEqual(pv.steps[0].arms.map((a: any) => [a.model, a.weight]), [['bc', 3], ['mm', 1]]);
    assert.deepEqual(pv.validations, { positive: 'out.probabilities[0] >= 0' });
    const sh = await json('pipeline', 'create', 'sh', '--shadow', 'bc,mm:1');
    assert.deepEqual([sh.steps[0].champion.model, sh.steps[0].challengers[0].model], ['bc', 'mm']);
    await json('pipeline', 'deploy', 'exp');
    const rows = expected('breast_cancer_logreg').inputs.input.data as number[];
    const file = path.join(work, 'bc.json');
    fs.writeFileSync(file, JSON.stringify([0, 1, 2].map((i) => ({ input: rows.slice(i * 30, (i + 1) * 30) }))));
    const out = await json('infer', 'exp', '--input', file);
    assert.deepEqual(out.map((r: any) => r['anomaly.count']), [0, 0, 0]);
    await new Promise((r) => setTimeout(r, 300));
    const cmp = await json('pipeline', 'compare', 'exp');
    assert.equal(cmp.groups.reduce((n: number, g: any) => n + g.rows, 0), 3);
    assert.match(await bettong('pipeline', 'compare', 'exp'), /answer (bc|mm):1: \d+ rows, latency p50/);
    const swapped = await json('pipeline', 'swap', 'exp', '--step', '1', '--model', 'mm');
    assert.equal(swapped.pipeline_version, 2);
    assert.match(await bettong('pipeline', 'versions', 'exp'), /ab\(bc:1\*3, mm:1\*1; key metadata.user\)[\s\S]*mm:1/);
  });

  it('flushes the inference log on SIGTERM and restores deployments on the next start', async () => {
    const e = expected('digits_mlp');
    const flat = e.inputs.input.data as number[];
    const res = await fetch(`${server.url}/v1/pipelines/d/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ input: flat.slice(0, 64) }]),
    });
    assert.equal(res.status, 200);
    const exited = new Promise<number | null>((r) => server.proc.once('exit', (code) => r(code)));
    server.proc.kill('SIGTERM');
    assert.equal(await exited, 0);
    const s = await testServer({ dataDir });
    try {
      assert.equal((await s.client.logs('d', { limit: 100 })).records.length, 11);
      assert.equal((await s.client.deploymentStatus('d')).status, 'running');
    } finally {
      await s.close();
    }
  });
});
