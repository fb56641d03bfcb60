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
 * Each loaded instance runs in a worker thread; a call that exceeds the step timeout fails
 * with STEP_TIMEOUT and the worker is replaced.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { transformSync } from 'esbuild';
import { columnToTensor, rowCount, rowValues } from '../../codecs/records.ts';
import { type Batch, isDataType } from '../../codecs/tensor.ts';
import { BettongError, fail } from '../../errors/index.ts';
import type { Model, Runtime, RuntimeConfig, Signature, TensorSpec } from '../runtime.ts';

const WORKER = new URL('./worker.mjs', import.meta.url);
const LOAD_TIMEOUT_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 5_000;

/** TypeScript is a superset of JavaScript: both go through the same transform. */
function moduleFile(artifact: Uint8Array): string {
  const digest = crypto.createHash('sha256').update(artifact).digest('hex');
  const file = path.join(os.tmpdir(), 'bettong-js', `${digest}.mjs`);
  if (!fs.existsSync(file)) {
    let code: string;
    try {
      code = transformSync(Buffer.from(artifact).toString('utf8'), { loader: 'ts', format: 'esm', target: 'node20' }).code;
    } catch (e) {
      return fail('INVALID_MODEL', `not a loadable JavaScript/TypeScript module: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, file);
  }
  return file;
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

interface Pending {
  resolve: (columns: Record<string, unknown>) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** One worker thread running the module; replaced when it hangs or dies. */
class JsModel implements Model {
  private worker!: Worker;
  private ready!: Promise<Signature>;
  private pending = new Map<number, Pending>();
  private nextId = 0;
  private loaded = false;
  signature!: Signature;

  constructor(private readonly file: string, private readonly timeoutMs: number) {}

  async start(): Promise<this> {
    this.spawn();
    this.signature = await this.ready;
    this.loaded = true;
    return this;
  }

  private spawn(): void {
    const worker = new Worker(WORKER, { workerData: { file: pathToUrl(this.file) } });
    this.worker = worker;
    this.ready = new Promise<Signature>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new BettongError('INVALID_MODEL', `the module did not load within ${LOAD_TIMEOUT_MS} ms`));
        void worker.terminate();
      }, LOAD_TIMEOUT_MS);
      worker.once('message', (m: { type: string; signature?: unknown; error?: string }) => {
        clearTimeout(timer);
        if (m.type === 'ready') {
          try { resolve(checkSignature(m.signature)); } catch (e) { reject(e); void worker.terminate(); }
        } else {
          reject(new BettongError('INVALID_MODEL', `the module failed to load: ${m.error}`));
          void worker.terminate();
        }
      });
      worker.once('error', (e) => {
        clearTimeout(timer);
        reject(new BettongError('INVALID_MODEL', `the module failed to load: ${e.message}`));
      });
    });
    this.ready.catch(() => undefined);
    worker.on('message', (m: { id?: number; columns?: Record<string, unknown>; error?: string }) => {
      if (m.id === undefined) return;
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      if (m.error !== undefined) p.reject(new BettongError('STEP_FAILED', `threw: ${m.error}`));
      else p.resolve(m.columns ?? {});
    });
    worker.on('exit', () => {
      if (this.worker !== worker) return;
      this.failAll('its worker stopped unexpectedly');
      // Replace a worker that died while serving; one that never loaded stays down.
      if (this.loaded) this.spawn();
    });
  }

  private failAll(why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new BettongError('STEP_FAILED', why));
      this.pending.delete(id);
    }
  }

  /** Stops a hung worker and starts a fresh one; other calls on it fail rather than hang. */
  private restart(): void {
    const old = this.worker;
    this.spawn();
    void old.terminate();
    this.failAll('its worker was restarted after another call timed out');
  }

  async predict(inputs: Batch): Promise<Batch> {
    await this.ready;
    const rows = rowCount(inputs);
    const columns = Object.fromEntries(inputs.map((t) => [t.name, rowValues(t, rows)]));
    const id = this.nextId++;
    const out = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BettongError('STEP_TIMEOUT', `did not return within ${this.timeoutMs} ms`));
        this.restart();
      }, this.timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.worker.postMessage({ id, columns });
    });
    return this.signature.outputs.map((spec) => {
      const values = out && typeof out === 'object' ? (out as Record<string, unknown>)[spec.name] : undefined;
      if (!Array.isArray(values)) fail('STEP_FAILED', `returned a malformed batch: output '${spec.name}' must be an array with one value per row`);
      if ((values as unknown[]).length !== rows) {
        fail('STEP_FAILED', `returned a malformed batch: output '${spec.name}' has ${(values as unknown[]).length} rows, expected ${rows}`);
      }
      try {
        return columnToTensor(spec, values as unknown[]);
      } catch (e) {
        return fail('STEP_FAILED', `returned a malformed batch: ${(e as Error).message}`);
      }
    });
  }

  async dispose(): Promise<void> {
    this.loaded = false;
    const w = this.worker;
    this.worker = undefined as unknown as Worker;
    this.failAll('the model was unloaded');
    await w?.terminate();
  }
}

const pathToUrl = (file: string) => new URL(`file://${file}`).href;

export const jsRuntime: Runtime = {
  name: 'js',
  platform: 'bettong_js',
  async inspect(artifact) {
    const model = await new JsModel(moduleFile(artifact), DEFAULT_TIMEOUT_MS).start();
    await model.dispose();
    return model.signature;
  },
  async load(artifact, config: RuntimeConfig = {}) {
    return new JsModel(moduleFile(artifact), config.timeoutMs ?? DEFAULT_TIMEOUT_MS).start();
  },
};


