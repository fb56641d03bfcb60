/**
 * Codec threads: large records bodies are parsed and decoded, and large records answers written,
 * on worker threads instead of the server thread. A 1,000-row request costs some 4 ms of JSON work
 * (parse, decode, and writing tens of thousands of numbers) against well under 1 ms for the rest
 * of its path; done on the server thread, that work alone caps a batch workload at one core and
 * stalls every other request behind it. Small requests stay on the server thread, where the hop
 * would cost more than it saves.
 */
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { BettongError, type ErrorCode } from '../errors/index.ts';
import type { TensorSpec } from '../runtimes/runtime.ts';
import type { RecordsBody } from './records-body.ts';
import { type Batch, wholeBuffer } from './tensor.ts';

/** Bodies from this size up are parsed on a codec thread (a 1,000-row feature table is 100 KB and more). */
export const OFFLOAD_BODY_BYTES = 64 * 1024;
/** Answers with this many elements or more are written on a codec thread. */
export const OFFLOAD_ANSWER_ELEMENTS = 16 * 1024;

const ENTRY = import.meta.url.endsWith('.ts') ? new URL('./threads-entry.mjs', import.meta.url) : new URL('./threads-host.js', import.meta.url);

type Validations = { rules: string[]; anomalies: string[][] };
type Call =
  | { type: 'decode'; body: Buffer; specs: TensorSpec[] }
  | { type: 'encode'; time: number; inputs: Batch; outputs: Batch; validations?: Validations };
export type ToCodecThread = Call & { id: number };
type FromCodecThread = { id: number; result?: unknown; error?: { code?: ErrorCode; message: string } };

interface Thread { worker: Worker; pending: Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }> }

export class CodecThreads {
  private readonly threads: (Thread | undefined)[];
  private next = 1;

  constructor(size = Math.max(1, Math.min(4, os.availableParallelism()))) {
    this.threads = new Array(size).fill(undefined);
  }

  /** Parses a records body and decodes its rows into the pipeline's input tensors. */
  decode(body: Buffer, specs: TensorSpec[]): Promise<RecordsBody & { inputs: Batch }> {
    // The body's bytes are moved when they are a buffer of their own (copied when a view of a larger one); the tensors come back moved.
    const whole = wholeBuffer(body);
    return this.call({ type: 'decode', body, specs }, whole ? [whole] : []) as Promise<RecordsBody & { inputs: Batch }>;
  }

  /** Writes a records answer (encodeRecordsJson) as UTF-8 bytes. */
  async encode(time: number, inputs: Batch, outputs: Batch, validations?: Validations): Promise<Buffer> {
    const bytes = await this.call({ type: 'encode', time, inputs, outputs, validations }) as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async close(): Promise<void> {
    const running = this.threads.filter((t): t is Thread => t !== undefined);
    this.threads.fill(undefined);
    await Promise.all(running.map((t) => t.worker.terminate()));
  }

  private call(m: Call, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const t = this.leastBusy();
    const id = this.next++;
    return new Promise((resolve, reject) => {
      t.pending.set(id, { resolve, reject });
      if (t.pending.size === 1) t.worker.ref();
      t.worker.postMessage({ ...m, id }, transfer);
    });
  }

  /** The thread with the fewest calls in flight, started when first needed. */
  private leastBusy(): Thread {
    let best = -1;
    for (let i = 0; i < this.threads.length; i++) {
      const t = this.threads[i];
      if (!t) return (this.threads[i] = this.start(i));
      if (best < 0 || t.pending.size < this.threads[best]!.pending.size) best = i;
    }
    return this.threads[best]!;
  }

  private start(slot: number): Thread {
    const worker = new Worker(ENTRY);
    worker.unref(); // idle codec threads never keep the process alive
    const t: Thread = { worker, pending: new Map() };
    worker.on('message', (m: FromCodecThread) => {
      const p = t.pending.get(m.id);
      if (!p) return;
      t.pending.delete(m.id);
      if (t.pending.size === 0) worker.unref();
      if (!m.error) p.resolve(m.result);
      else p.reject(m.error.code ? new BettongError(m.error.code, m.error.message) : new Error(m.error.message));
    });
    worker.on('error', (e) => console.error(`codec thread failed: ${e.message}`));
    // A thread that dies (out of memory on a huge body, a bug) fails its calls; the next call starts a new one.
    worker.once('exit', (code) => {
      if (this.threads[slot] === t) this.threads[slot] = undefined;
      for (const p of t.pending.values()) p.reject(new Error(`codec thread exited (${code}) during the call`));
      t.pending.clear();
    });
    return t;
  }
}
