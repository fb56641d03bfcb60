/**
 * Replicas: N worker threads, each running the whole pipeline, fed by the server thread.
 * Each request goes to the replica with the fewest requests in flight. A replica that dies
 * is replaced; the requests it held fail with REPLICA_FAILED rather than hang.
 */
import { Worker } from 'node:worker_threads';
import type { Batch } from '../codecs/tensor.ts';
import { BettongError, type ErrorCode } from '../errors/index.ts';
import type { PipelineVersion } from '../pipelines/index.ts';
import type { Artifacts, LoadOptions } from './load.ts';
import type { RunContext, RunResult, Runner, RunnerLoad, ShadowOutcome, StepTiming, StepTrace } from './runner.ts';

// From source the worker loads TypeScript through tsx; the built package (dist/) runs the compiled host.
const ENTRY = import.meta.url.endsWith('.ts') ? new URL('./replica-worker.mjs', import.meta.url) : new URL('./replica-host.js', import.meta.url);

interface InFlight {
  resolve: (r: RunResult) => void;
  reject: (e: unknown) => void;
  shadows?: (s: ShadowOutcome[]) => void;
}

type Reply =
  | { type: 'ready' } | { type: 'retired' }
  | { type: 'failed'; error: { code: ErrorCode; message: string } }
  | { type: 'result'; id: number; outputs: Batch; trace: StepTrace[]; timings?: StepTiming[]; shadows: boolean }
  | { type: 'shadows'; id: number; outcomes: ShadowOutcome[] }
  | { type: 'error'; id: number; error: { code: ErrorCode; message: string } };

class Replica {
  worker!: Worker;
  inFlight = new Map<number, InFlight>();
  retiring = false;

  constructor(private readonly pool: ReplicaPool, readonly index: number) {}

  /** Starts the worker; resolves once its models are loaded. */
  start(): Promise<void> {
    const worker = new Worker(ENTRY, { workerData: this.pool.workerData });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (m: Reply) => {
        if (m.type === 'ready') return resolve();
        if (m.type === 'failed') return reject(new BettongError(m.error.code, m.error.message));
        if (m.type === 'retired') return void worker.terminate();
        const f = this.inFlight.get(m.id);
        if (!f) return;
        if (m.type === 'shadows') {
          this.inFlight.delete(m.id);
          f.shadows?.(m.outcomes);
        } else if (m.type === 'error') {
          this.inFlight.delete(m.id);
          f.reject(new BettongError(m.error.code, m.error.message));
        } else {
          let shadows: Promise<ShadowOutcome[]> | null = null;
          if (m.shadows) shadows = new Promise((r) => (f.shadows = r));
          else this.inFlight.delete(m.id);
          f.resolve({ outputs: m.outputs, trace: m.trace, timings: m.timings, shadows });
        }
      });
      worker.on('error', (e) => reject(e));
      worker.on('exit', (code) => {
        if (this.worker !== worker) return;
        this.failAll(`replica ${this.index} stopped (exit code ${code})`);
        if (!this.retiring && !this.pool.closed) void this.start().catch((e) => console.error(`replica ${this.index} could not restart: ${(e as Error).message}`));
      });
    });
  }

  private failAll(why: string): void {
    for (const [id, f] of this.inFlight) {
      this.inFlight.delete(id);
      f.reject(new BettongError('REPLICA_FAILED', `${why}; the request was not completed, retry it`));
      f.shadows?.([]);
    }
  }
}

export class ReplicaPool implements Runner {
  private replicas: Replica[] = [];
  private nextId = 0;
  closed = false;
  readonly workerData: { version: PipelineVersion; artifacts: Artifacts; options: LoadOptions };

  private constructor(readonly version: PipelineVersion, artifacts: Artifacts, options: LoadOptions, count: number) {
    this.workerData = { version, artifacts, options };
    this.replicas = Array.from({ length: count }, (_, i) => new Replica(this, i));
  }

  static async start(version: PipelineVersion, artifacts: Artifacts, options: LoadOptions, count: number): Promise<ReplicaPool> {
    const pool = new ReplicaPool(version, artifacts, options, count);
    try {
      await Promise.all(pool.replicas.map((r) => r.start()));
    } catch (e) {
      await pool.retire();
      throw e;
    }
    return pool;
  }

  run(inputs: Batch, ctx: RunContext = { metadata: {} }): Promise<RunResult> {
    let best = this.replicas[0];
    for (const r of this.replicas) if (r.inFlight.size < best.inFlight.size) best = r;
    const id = this.nextId++;
    return new Promise<RunResult>((resolve, reject) => {
      best.inFlight.set(id, { resolve, reject });
      best.worker.postMessage({ type: 'run', id, inputs, ctx });
    });
  }

  load(): RunnerLoad {
    return { queued: 0, inFlight: this.replicas.map((r) => r.inFlight.size) };
  }

  /** Stops a replica's thread as a crash would (for failure tests and operators). */
  async kill(index: number): Promise<void> {
    await this.replicas[index].worker.terminate();
  }

  async retire(): Promise<void> {
    this.closed = true;
    await Promise.all(this.replicas.map(async (r) => {
      r.retiring = true;
      if (!r.worker) return;
      // Let the requests it holds finish, then release its models and stop.
      while (r.inFlight.size > 0) await new Promise((res) => setTimeout(res, 5));
      const exited = new Promise((res) => r.worker.once('exit', res));
      r.worker.postMessage({ type: 'retire' });
      // A bounded wait whose timer is cleared: a pending 5 s timer held every stop (and failed start) open that long.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((res) => { timer = setTimeout(res, 5000); })]);
      clearTimeout(timer);
      await r.worker.terminate();
    }));
  }
}
