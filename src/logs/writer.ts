/**
 * The inference log writer. A request's tensors are copied into the open columnar segments
 * (logs/segments.ts: one typed-array copy per tensor, nothing JSON-encoded per row) and the
 * request returns; every `flushIntervalMs` (or sooner when `flushRows` rows wait) the segments'
 * buffers move, without a copy, to a writer thread that owns its own SQLite connection, so
 * neither encoding nor the insert runs on the event loop. On PostgreSQL the same queue runs on
 * the main thread and writes through the pool (write-pg.ts): the driver does not block. A crash loses at most the rows not yet written: one
 * interval's worth, or the backlog while the store is failing.
 *
 * Nothing accepted is dropped: failed writes are retried whole, and once the unwritten backlog
 * passes `maxBacklogBytes` the writer stops `accepting` — readiness turns 503 and inference is
 * refused with LOG_STORE_UNAVAILABLE until the store takes writes again.
 */
import { Worker } from 'node:worker_threads';
import { type DB, sqliteOf } from '../store/index.ts';
import type { LogEntry } from './entry.ts';
import { SegmentBuilder } from './segments.ts';
import { postgresLogSink } from './write-pg.ts';
import { type FromWriter, type LogSink, type ToWriter, WriteQueue } from './write-queue.ts';

export type { LogEntry } from './entry.ts';

/** What the writer tells metrics (observability/metrics.ts). */
export interface LogWriterMetrics {
  logFlushed(rows: number, ms: number): void;
  logFlushFailed(): void;
}

export interface LogWriterOptions {
  flushIntervalMs?: number;
  flushRows?: number;
  /** Unwritten bytes (approximate, tensor data plus per-request overhead) past which inference is refused. Default 64 MiB. */
  maxBacklogBytes?: number;
  /** Pause between retries of a failed write. Default 200 ms. */
  retryMs?: number;
  metrics?: LogWriterMetrics;
}

/** One write attempt of the writer thread, for metrics. */
export interface WriteEvent { ok: boolean; rows: number; ms: number; error?: string }

// From source the thread loads TypeScript through tsx; the built package (dist/) runs the compiled host.
const THREAD = import.meta.url.endsWith('.ts') ? new URL('./write-thread.mjs', import.meta.url) : new URL('./write-host.js', import.meta.url);

/** Where handed-over segments go: the SQLite writer thread, or the queue in this thread. */
interface WriterPort {
  post(m: ToWriter, transfer?: ArrayBuffer[]): void;
  ref(): void;
  unref(): void;
}

export class InferenceLogWriter {
  /** Appended, not yet handed over: already columnar. */
  private pending = new SegmentBuilder();
  /** Handed to the writer thread, not yet written. */
  private inflightRows = 0;
  private inflightBytes = 0;
  private port: WriterPort;
  private readonly workerData?: { file: string; retryMs: number };
  private readonly syncs = new Map<number, (ok: boolean) => void>();
  private nextId = 1;
  private timer: NodeJS.Timeout;
  private readonly flushRows: number;
  private readonly maxBacklogBytes: number;
  /** Benchmark-only switch (BETTONG_BENCH_LOGS_OFF=1): log nothing, to measure what logging costs. */
  private readonly discard = process.env.BETTONG_BENCH_LOGS_OFF === '1';
  private closed = false;
  private flushSoon = false;
  private exited!: Promise<void>;
  /** Rows written since start, for tests and metrics. */
  written = 0;
  /** Entries that could not be logged at all (reported on stderr). */
  appendFailures = 0;
  /** Failed write attempts since start (each is retried). */
  writeFailures = 0;
  lastError: string | null = null;
  /** Called after every write attempt of the writer thread (metrics hook). */
  onWrite?: (e: WriteEvent) => void;

  constructor(db: DB, opts: LogWriterOptions = {}) {
    const metrics = opts.metrics;
    if (metrics) this.onWrite = (e) => (e.ok ? metrics.logFlushed(e.rows, e.ms) : metrics.logFlushFailed());
    this.flushRows = opts.flushRows ?? 5000;
    this.maxBacklogBytes = opts.maxBacklogBytes ?? 64 * 1024 * 1024;
    const sqlite = sqliteOf(db);
    if (sqlite) {
      this.workerData = { file: sqlite.name, retryMs: opts.retryMs ?? 200 };
      this.port = this.spawn();
    } else {
      this.port = this.inProcess(postgresLogSink(db), opts.retryMs ?? 200);
    }
    this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 100);
    this.timer.unref();
  }

  /**
   * The writer thread. Should it die (a bug, not a failing store: those are retried), what it
   * held is reported lost, loudly, and a new one takes over, so the log keeps working.
   */
  private spawn(): WriterPort {
    const w = new Worker(THREAD, { workerData: this.workerData });
    w.unref();
    w.on('message', (m: FromWriter) => this.onMessage(m));
    w.on('error', (e) => console.error(`inference log writer thread failed: ${e.message}`));
    this.exited = new Promise((resolve) => w.once('exit', () => {
      resolve();
      if (this.closed) return;
      console.error(`inference log writer thread exited: ${this.inflightRows} rows handed to it are lost; starting a new one`);
      this.inflightRows = 0;
      this.inflightBytes = 0;
      for (const done of this.syncs.values()) done(false);
      this.syncs.clear();
      this.port = this.spawn();
    }));
    return { post: (m, transfer) => w.postMessage(m, transfer), ref: () => w.ref(), unref: () => w.unref() };
  }

  /** The queue on this thread, for an asynchronous driver: nothing to keep alive, nothing to respawn. */
  private inProcess(sink: LogSink, retryMs: number): WriterPort {
    const queue = new WriteQueue(sink, retryMs, (m) => this.onMessage(m));
    this.exited = Promise.resolve();
    return { post: (m) => (m.type === 'close' ? queue.close() : queue.handle(m)), ref: () => {}, unref: () => {} };
  }

  /** Rows accepted and not yet written. */
  get backlogRows(): number { return this.pending.rows + this.inflightRows; }
  /** Approximate bytes accepted and not yet written. */
  get backlogBytes(): number { return this.pending.bytes + this.inflightBytes; }
  /** False while the unwritten backlog is past its bound: new inferences must be refused. */
  get accepting(): boolean { return this.backlogBytes <= this.maxBacklogBytes; }
  get maxBacklog(): number { return this.maxBacklogBytes; }

  append(entry: LogEntry): void {
    if (this.discard) return;
    try {
      this.pending.append(entry);
    } catch (e) {
      // A tensor whose data does not match its datatype would be a codec bug: it must not fail the answer.
      this.appendFailures++;
      console.error(`inference log: could not log a request of pipeline ${entry.pipelineId}: ${(e as Error).message}`);
      return;
    }
    if (this.pending.rows >= this.flushRows && !this.flushSoon) {
      this.flushSoon = true;
      setImmediate(() => { this.flushSoon = false; void this.flush(); });
    }
  }

  /** Hands everything appended so far to the writer; resolves once it has tried to write it. */
  flush(): Promise<boolean> {
    // Nothing waiting and nothing in flight: everything appended is written already.
    if (this.closed || this.backlogRows === 0) return Promise.resolve(this.backlogRows === 0);
    this.handOver();
    const id = this.nextId++;
    // Unreferenced when idle (it must not keep a process alive), referenced while someone waits on it.
    this.port.ref();
    return new Promise((resolve) => {
      this.syncs.set(id, resolve);
      this.post({ type: 'sync', id });
    });
  }

  private handOver(): void {
    const { rows, bytes } = this.pending;
    if (rows === 0) return;
    const segments = this.pending.take();
    const msg: ToWriter = { type: 'write', id: this.nextId++, segments, rows, bytes };
    this.inflightRows += rows;
    this.inflightBytes += bytes;
    // The columns' buffers move to the writer thread: no copy.
    const transfer = segments.flatMap((s) => s.columns.flatMap((c) => (Array.isArray(c.data) ? [] : [c.data.buffer as ArrayBuffer])));
    this.port.post(msg, transfer);
  }

  private post(m: ToWriter): void {
    this.port.post(m);
  }

  private onMessage(m: FromWriter): void {
    if (m.type === 'written') {
      this.written += m.rows;
      this.inflightRows -= m.rows;
      this.inflightBytes -= m.bytes;
      if (this.lastError) console.error(`inference log store writable again: ${m.rows} waiting rows written`);
      this.lastError = null;
      this.onWrite?.({ ok: true, rows: m.rows, ms: m.ms });
    } else if (m.type === 'failed') {
      this.writeFailures++;
      if (this.lastError === null) console.error(`inference log write failed, will retry: ${m.error}`);
      this.lastError = m.error;
      this.onWrite?.({ ok: false, rows: m.rows, ms: m.ms, error: m.error });
    } else {
      this.syncs.get(m.id)?.(m.ok);
      this.syncs.delete(m.id);
      if (this.syncs.size === 0 && !this.closed) this.port.unref();
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    const ok = await this.flush();
    this.closed = true;
    if (!ok) console.error(`inference log store failing at shutdown: ${this.backlogRows} rows not written (${this.lastError})`);
    this.port.ref();
    this.post({ type: 'close' });
    await this.exited;
  }
}
