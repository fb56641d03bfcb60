/**
 * Python steps: processing functions and custom models written as a data scientist writes them.
 * The upload is a single `model.py`, or a .zip / .tar.gz holding `model.py` and the files it
 * loads. model.py defines:
 *
 *   signature = {
 *       "inputs": [{"name": "age", "datatype": "FP64", "shape": [-1]}],
 *       "outputs": [{"name": "risk", "datatype": "FP32", "shape": [-1]}],
 *   }
 *   def load():                 # optional, runs once; what it returns is predict's second argument
 *       return {"threshold": 40}
 *   def predict(df, state):     # df: a pandas DataFrame, one column per input (worker.py InputLayout)
 *       return {"risk": (df["age"] > state["threshold"]).astype("float32")}
 *
 * predict returns a DataFrame or a dict of numpy arrays, one value (or array) per row. A pickled
 * (joblib) scikit-learn estimator or Pipeline is served by the worker's built-in adapter, its
 * signature read from its metadata; it is unpickled only inside the sandbox. Each loaded
 * instance runs src/runtimes/python/worker.py in its own sandboxed worker process, with the
 * interpreter the server was given (`--python`, BETTONG_PYTHON; its environment needs pandas,
 * numpy and pyarrow: src/runtimes/python/requirements.txt).
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fail } from '../../errors/index.ts';
import type { Runtime, RuntimeConfig } from '../runtime.ts';
import { type LaunchSpec, type Mount, ProcessModel, WorkerProcess } from '../sandbox/index.ts';
import { buildEnvironment, environmentOf } from './environments.ts';

/**
 * Artifacts by content hash and environments (world-readable: the sandbox's user reads them),
 * one dir per OS and CPU (built packages hold native code), under the configured cache dir;
 * the system temp dir where the runtime runs without a server (benchmarks).
 */
const cacheOf = (config: RuntimeConfig) =>
  path.join(config.sandbox?.cacheDir ?? path.join(os.tmpdir(), 'bettong-cache'), `python-${process.platform}-${process.arch}`);
const HOW = 'model.py needs signature = {"inputs": [...], "outputs": [...]}';
/** Numeric libraries start a thread per core unless told: one per step process. */
const ENV = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1', PYTHONDONTWRITEBYTECODE: '1' };

export const defaultPython = () => process.env.BETTONG_PYTHON || 'python3';

const interpreters = new Map<string, { exe: string; mounts: Mount[] }>();

/** The interpreter's executable and the dirs it needs beyond /usr (a venv, a pyenv prefix), read-only at the same paths. */
function interpreter(python: string): { exe: string; mounts: Mount[] } {
  let found = interpreters.get(python);
  if (!found) {
    const r = spawnSync(python, ['-c', 'import json, sys; print(json.dumps([sys.executable, sys.prefix, sys.base_prefix]))'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) fail('SANDBOX_UNAVAILABLE', `Python steps need a Python interpreter: '${python}' did not run (${(r.error?.message ?? r.stderr).trim()}); start the server with --python <path> (BETTONG_PYTHON)`);
    const [exe, ...prefixes] = JSON.parse(r.stdout) as string[];
    const dirs = [...new Set(prefixes)].filter((d) => d !== '/usr' && !d.startsWith('/usr/'));
    // The real dir (a venv may be a link to one the sandbox's user can reach) at the path Python knows.
    found = { exe, mounts: dirs.map((d) => ({ host: fs.realpathSync(d), inside: d })) };
    interpreters.set(python, found);
  }
  return found;
}

/** A copy in the cache dir, by content hash: the sandbox's user may not reach the original's folder. */
function cachedCopy(cache: string, bytes: Uint8Array, suffix: string): string {
  const digest = crypto.createHash('sha256').update(bytes).digest('hex');
  const file = path.join(cache, `${digest}${suffix}`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(cache, { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
    fs.writeFileSync(tmp, bytes, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
  return file;
}

/** The worker on the artifact, with the model's own environment (read-only at /env) when it has one. */
function baseSpec(artifact: Uint8Array, config: RuntimeConfig, extra: string[] = [], envDir?: string): LaunchSpec {
  const py = interpreter(config.sandbox?.python ?? defaultPython());
  const cache = cacheOf(config);
  return {
    argv: [py.exe, '-I', '/runtime/worker.py', '/step/artifact', ...extra, ...(envDir ? ['--site', '/env/site'] : [])],
    mounts: [
      ...py.mounts,
      { host: cachedCopy(cache, fs.readFileSync(new URL('./worker.py', import.meta.url)), '.py'), inside: '/runtime/worker.py' },
      { host: cachedCopy(cache, artifact, '.artifact'), inside: '/step/artifact' },
      ...(envDir ? [{ host: envDir, inside: '/env' }] : []),
    ],
    env: ENV,
  };
}

const isArchive = (a: Uint8Array) => (a[0] === 0x50 && a[1] === 0x4b) || (a[0] === 0x1f && a[1] === 0x8b);

/** The requirements.txt in an archive (null: none), read in the sandbox once per artifact. */
async function requirementsOf(artifact: Uint8Array, config: RuntimeConfig): Promise<string | null> {
  if (!isArchive(artifact)) return null;
  const file = `${cachedCopy(cacheOf(config), artifact, '.artifact')}.requirements.json`;
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as string | null;
  const worker = await new WorkerProcess({
    name: `${config.name ?? 'python step'} (requirements)`, spec: baseSpec(artifact, config, ['--requirements']),
    settings: config.sandbox ?? {}, loadTimeoutMs: 60_000,
  }).start();
  await worker.dispose();
  const requirements = (worker.hello as { requirements?: string | null }).requirements ?? null;
  fs.writeFileSync(file, JSON.stringify(requirements), { mode: 0o644 });
  return requirements;
}

async function environmentFor(artifact: Uint8Array, config: RuntimeConfig) {
  const requirements = await requirementsOf(artifact, config);
  if (requirements === null) return undefined;
  const py = interpreter(config.sandbox?.python ?? defaultPython());
  const env = environmentOf(cacheOf(config), py.exe, requirements);
  return { env, build: () => buildEnvironment(env, requirements, py, config.sandbox ?? {}) };
}

/** The launch spec, building the model's environment first if it is not there (a restored deployment after a cache wipe). */
async function launchSpec(artifact: Uint8Array, config: RuntimeConfig): Promise<LaunchSpec> {
  const e = await environmentFor(artifact, config);
  if (e && !e.env.ready) {
    const built = await e.build();
    if (!built.ok) fail('INVALID_MODEL', `its environment (requirements.txt) did not build: ${built.log.trim().split('\n').slice(-3).join(' | ')}`);
  }
  return baseSpec(artifact, config, [], e?.env.dir);
}

export const pythonRuntime: Runtime = {
  name: 'python',
  platform: 'bettong_python',
  async inspect(artifact, config: RuntimeConfig = {}) {
    return ProcessModel.inspect(await launchSpec(artifact, config), config, HOW);
  },
  async load(artifact, config: RuntimeConfig = {}) {
    return ProcessModel.start(await launchSpec(artifact, config), config, HOW);
  },
  async environment(artifact, config: RuntimeConfig = {}) {
    const e = await environmentFor(artifact, config);
    return e && { ready: e.env.ready, build: e.build };
  },
};
