/**
 * A model whose predictions happen in a sandboxed worker process (custom code: JavaScript,
 * Python): inputs go out and outputs come back as Arrow IPC, and the worker's answer is read
 * as untrusted, like a client's table.
 */
import { tableFromIPC, tableToIPC } from 'apache-arrow';
import { batchToTable, tableToBatch } from '../../codecs/arrow.ts';
import { rowCount } from '../../codecs/records.ts';
import { type Batch, isDataType } from '../../codecs/tensor.ts';
import { fail } from '../../errors/index.ts';
import type { Model, RuntimeConfig, Signature, TensorSpec } from '../runtime.ts';
import type { LaunchSpec } from './launch.ts';
import { WorkerProcess } from './worker-process.ts';

const LOAD_TIMEOUT_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 5_000;

/** The signature a step declares, checked; `how` shows how to declare one. */
export function checkSignature(sig: unknown, how: string): Signature {
  const bad = (why: string): never => fail('INVALID_MODEL', `the step's signature ${why}`);
  if (!sig || typeof sig !== 'object') bad(`is missing: ${how}`);
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

export class ProcessModel implements Model {
  private constructor(readonly signature: Signature, private readonly worker: WorkerProcess, private readonly timeoutMs: number) {}

  static async start(spec: LaunchSpec, config: RuntimeConfig, how: string): Promise<ProcessModel> {
    const worker = new WorkerProcess({ name: config.name ?? 'custom step', spec, settings: config.sandbox ?? {}, loadTimeoutMs: LOAD_TIMEOUT_MS });
    await worker.start();
    try {
      const signature = checkSignature((worker.hello as { signature?: unknown }).signature, how);
      return new ProcessModel(signature, worker, config.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    } catch (e) {
      await worker.dispose();
      throw e;
    }
  }

  /** Reads the signature by loading the step in its sandbox, then stops it. */
  static async inspect(spec: LaunchSpec, config: RuntimeConfig, how: string): Promise<Signature> {
    const model = await ProcessModel.start(spec, config, how);
    await model.dispose();
    return model.signature;
  }

  async predict(inputs: Batch): Promise<Batch> {
    const rows = rowCount(inputs);
    const reply = await this.worker.call(tableToIPC(batchToTable(inputs), 'stream'), this.timeoutMs);
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
