/**
 * The inference log's write queue, whatever the backend: batches handed over by the writer
 * (logs/writer.ts) wait here until the backend's `sink` has written them. Everything queued goes
 * in one call (one transaction); a failed call leaves nothing behind and is retried whole, in
 * order, every `retryMs`, until it succeeds. Outcomes are reported as messages, the same whether
 * the queue lives in the SQLite writer thread (write-host.ts) or on the main thread (PostgreSQL).
 */
import type { SegmentDraft } from './segments.ts';

export type WriteBatch = { type: 'write'; id: number; segments: SegmentDraft[]; rows: number; bytes: number };

export type ToWriter = WriteBatch | { type: 'sync'; id: number } | { type: 'close' };

export type FromWriter =
  | { type: 'written'; rows: number; bytes: number; ms: number }
  | { type: 'failed'; error: string; rows: number; ms: number }
  | { type: 'synced'; id: number; ok: boolean };

/** Writes every batch given in one transaction, or throws having written none. */
export type LogSink = (batches: WriteBatch[]) => void | Promise<void>;

export class WriteQueue {
  private queue: WriteBatch[] = [];
  private retry: NodeJS.Timeout | undefined;
  /** Drains run one after another: a sync waits for the writes handed over before it. */
  private chain: Promise<boolean> = Promise.resolve(true);

  constructor(private readonly sink: LogSink, private readonly retryMs: number, private readonly post: (m: FromWriter) => void) {}

  /** Takes one message of the writer; `close` is the owner's to handle. */
  handle(m: ToWriter): void {
    if (m.type === 'write') {
      this.queue.push(m);
      void this.drain();
    } else if (m.type === 'sync') {
      void this.drain().then((ok) => this.post({ type: 'synced', id: m.id, ok }));
    }
  }

  /** Writes everything queued; true when nothing is left. */
  drain(): Promise<boolean> {
    this.chain = this.chain.then(() => this.drainNow());
    return this.chain;
  }

  close(): void {
    clearTimeout(this.retry);
    this.retry = undefined;
  }

  private async drainNow(): Promise<boolean> {
    if (this.queue.length === 0) return true;
    // Batches queued while this write runs wait for the next drain.
    const batches = this.queue.slice();
    const started = performance.now();
    const rows = batches.reduce((a, w) => a + w.rows, 0);
    try {
      await this.sink(batches);
      this.queue.splice(0, batches.length);
      this.post({ type: 'written', rows, bytes: batches.reduce((a, w) => a + w.bytes, 0), ms: performance.now() - started });
      return true;
    } catch (e) {
      this.post({ type: 'failed', error: (e as Error).message, rows, ms: performance.now() - started });
      if (!this.retry) {
        this.retry = setTimeout(() => { this.retry = undefined; void this.drain(); }, this.retryMs);
        // On the main thread a pending retry must not keep the process alive (close reports what is left).
        this.retry.unref?.();
      }
      return false;
    }
  }
}
