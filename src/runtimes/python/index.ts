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
 *   def predict(df, state):     # df: a pandas DataFrame, one column per input
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
import { type LaunchSpec, type Mount, ProcessModel } from '../sandbox/index.ts';

/** Artifacts by content hash (world-readable: the sandbox's user reads them). */
const CACHE = path.join(os.tmpdir(), 'bettong-python');
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
function cachedCopy(bytes: Uint8Array, suffix: string): string {
  const digest = crypto.createHash('sha256').update(bytes).digest('hex');
  const file = path.join(CACHE, `${digest}${suffix}`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(CACHE, { recursive: true, mode: 0o755 });
    const tmp = `${file}.${process.pid}.${crypto.randomUUID()}.tmp`;
    fs.writeFileSync(tmp, bytes, { mode: 0o644 });
    fs.renameSync(tmp, file);
  }
  return file;
}

function launchSpec(artifact: Uint8Array, config: RuntimeConfig): LaunchSpec {
  const py = interpreter(config.sandbox?.python ?? defaultPython());
  return {
    argv: [py.exe, '-I', '/runtime/worker.py', '/step/artifact'],
    mounts: [
      ...py.mounts,
      { host: cachedCopy(fs.readFileSync(new URL('./worker.py', import.meta.url)), '.py'), inside: '/runtime/worker.py' },
      { host: cachedCopy(artifact, '.artifact'), inside: '/step/artifact' },
    ],
    env: ENV,
  };
}

export const pythonRuntime: Runtime = {
  name: 'python',
  platform: 'bettong_python',
  inspect(artifact, config: RuntimeConfig = {}) {
    return ProcessModel.inspect(launchSpec(artifact, config), config, HOW);
  },
  load(artifact, config: RuntimeConfig = {}) {
    return ProcessModel.start(launchSpec(artifact, config), config, HOW);
  },
};
