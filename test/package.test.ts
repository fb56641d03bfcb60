/**
 * Installing like any Node tool: `npm pack` makes a tarball of compiled JavaScript that installs
 * into a clean prefix and serves the demo without tsx; the Dockerfile builds and runs that same
 * artifact (checked without a Docker daemon: none runs here).
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ROOT, tempDir } from './helpers.ts';

const exec = promisify(execFile);
// Native modules: onnxruntime-node ships its CPU binary; it must not fetch CUDA files (no network but registries).
const NPM_ENV = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_onnxruntime_node_install: 'skip' };
const PREFIX_IN_IMAGE = '/opt/bettong';

describe('the npm package', () => {
  const work = tempDir();
  let tarball = '';
  let files: string[] = [];
  let serve: ChildProcess | undefined;

  before(async () => {
    const { stdout } = await exec('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, env: NPM_ENV, maxBuffer: 64 * 1024 * 1024 });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(work, info.filename);
    files = info.files.map((f) => f.path);
  });
  after(() => {
    serve?.kill('SIGKILL');
    fs.rmSync(work, { recursive: true, force: true });
  });

  test('holds compiled JavaScript, the proto and the demo model; no TypeScript, tests, bench, fixtures or Python SDK', () => {
    for (const f of ['bin/bettong.mjs', 'dist/cli/main.js', 'dist/server/grpc/oip.proto', 'dist/inference/replica-host.js', 'dist/console/index.html', 'testdata/models/digits_mlp.onnx', 'package.json']) {
      assert.ok(files.includes(f), `${f} is in the tarball`);
    }
    for (const f of files) {
      assert.ok(!/\.ts$|\.test\.|testkit/.test(f), `${f}: no TypeScript sources or tests`);
      assert.ok(!/^(src|test|bench|python|examples|scripts)\//.test(f), `${f}: nothing from the repository's other folders`);
      assert.ok(!f.startsWith('testdata/') || f === 'testdata/models/digits_mlp.onnx' || f === 'testdata/README.md', `${f}: only the demo model of the fixtures`);
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    assert.ok(pkg.engines.node, 'engines');
    assert.ok(!pkg.dependencies.tsx && pkg.devDependencies.tsx, 'tsx is a development dependency only');
  });

  test('installs into a clean prefix and serves the demo from dist/, without tsx', { timeout: 20 * 60_000 }, async () => {
    const prefix = path.join(work, 'prefix');
    await exec('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', tarball], { cwd: work, env: NPM_ENV, maxBuffer: 64 * 1024 * 1024 });
    const installed = path.join(prefix, 'lib', 'node_modules', 'bettong');
    assert.ok(!fs.existsSync(path.join(installed, 'node_modules', 'tsx')), 'tsx is not installed with the package');
    assert.ok(!fs.existsSync(path.join(installed, 'src')));

    const dataDir = path.join(work, 'data');
    serve = spawn(path.join(prefix, 'bin', 'bettong'), ['serve', '--demo', '--port', '0', '--data-dir', dataDir], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`serve did not start: ${out}`)), 60_000);
      const seen = (d: Buffer) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m && /sample pipeline "digits" deployed/.test(out)) { clearTimeout(timer); resolve(m[1]); }
      };
      serve!.stdout!.on('data', seen);
      serve!.stderr!.on('data', seen);
      serve!.on('exit', (code) => reject(new Error(`serve exited ${code}: ${out}`)));
    });
    assert.match(out, /OIP gRPC \(inference.GRPCInferenceService\) on 127\.0\.0\.1:\d+/, 'the proto is found beside the compiled code');
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200);
    // The demo deployment runs in a replica worker thread: the compiled worker entry loads.
    const res = await fetch(`${url}/v1/pipelines/digits/infer`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([{ input: new Array(64).fill(1) }]),
    });
    assert.equal(res.status, 200);
    const [row] = await res.json() as Record<string, unknown>[];
    assert.equal(typeof row['out.label'], 'number');
    assert.match(await (await fetch(`${url}/metrics`)).text(), /bettong_inference_rows_total\{workspace_id="1",pipeline="digits"\} 1/);
    // The web console, built at package time into dist/console.
    const page = await (await fetch(`${url}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page)?.[1];
    assert.ok(script, 'index.html names its script');
    assert.equal((await fetch(url + script)).status, 200);
    const exited = new Promise((r) => serve!.once('exit', r));
    serve.kill('SIGTERM');
    await exited;
    serve = undefined;
  });

  test('the Dockerfile builds that same artifact and runs it unprivileged, health-checked, with a data volume and BETTONG_* settings', () => {
    const text = fs.readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
    const lines = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    const stages = lines.filter((l) => /^FROM /i.test(l));
    assert.ok(stages.length >= 2, 'multi-stage');
    const buildStage = /^FROM \S+ AS (\S+)/i.exec(stages[0])?.[1];
    assert.ok(buildStage && lines.some((l) => l.startsWith(`COPY --from=${buildStage} ${PREFIX_IN_IMAGE} `)), 'the final stage takes the installed prefix from the build stage');
    // Every file the build stage copies exists here.
    for (const l of lines.filter((x) => /^COPY (?!--from)/.test(x))) {
      for (const src of l.split(/\s+/).slice(1, -1)) assert.ok(fs.existsSync(path.join(ROOT, src)), `COPY source ${src} exists`);
    }
    const run = lines.filter((l) => l.startsWith('RUN ')).join(' ');
    assert.match(run, /npm pack --pack-destination (\S+) .*npm install -g --prefix \/opt\/bettong\b.* \1\/bettong-\*\.tgz/, 'packs and installs the tarball as this test does');
    const final = lines.slice(lines.indexOf(stages[stages.length - 1]));
    const user = final.find((l) => l.startsWith('USER '))?.slice(5);
    assert.ok(user && user !== 'root' && user !== '0', 'runs as a non-root user');
    assert.match(final.find((l) => l.startsWith('HEALTHCHECK ')) ?? '', /\/v2\/health\/ready/);
    const env = Object.fromEntries([...final.filter((l) => l.startsWith('ENV ')).join(' ').matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
    assert.equal(env.BETTONG_AUTH, '1', 'outside loopback every request needs a token');
    assert.equal(env.BETTONG_HOST, '0.0.0.0');
    const volume = final.find((l) => l.startsWith('VOLUME '));
    assert.ok(volume?.includes(`"${env.BETTONG_DATA_DIR}"`), 'the data directory is a volume');
    const entrypoint = JSON.parse(final.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
    assert.equal(entrypoint[0], `${PREFIX_IN_IMAGE}/bin/bettong`, 'the entrypoint is the installed bin');
    assert.ok(files.includes('bin/bettong.mjs'), "the package's bin, which npm links as <prefix>/bin/bettong");
  });
});
