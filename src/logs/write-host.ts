/**
 * The inference log's writer thread: owns its own SQLite connection to the data dir's database
 * (WAL lets the main thread read meanwhile) and inserts the segments the main thread hands over.
 * All queued segments go in one transaction: a failed write leaves nothing behind and is retried
 * whole, in order, until it succeeds.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { type SegmentDraft, columnBytes, inTimeOrder } from './segments.ts';

export type ToWriter =
  | { type: 'write'; id: number; segments: SegmentDraft[]; rows: number; bytes: number }
  | { type: 'sync'; id: number }
  | { type: 'close' };

export type FromWriter =
  | { type: 'written'; rows: number; bytes: number; ms: number }
  | { type: 'failed'; error: string; rows: number; ms: number }
  | { type: 'synced'; id: number; ok: boolean };

const { file, retryMs } = workerData as { file: string; retryMs: number };
const port = parentPort!;
const db = new SQLite(file);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('busy_timeout = 5000');

const insertSegment = db.prepare(`INSERT INTO inference_log_segments
  (workspace_id, pipeline_id, pipeline_version, time_min, time_max, rows, anomaly_rows, models, requests, columns)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
const insertColumn = db.prepare('INSERT INTO inference_log_columns (segment_id, name, data) VALUES (?, ?, ?)');

const writeAll = db.transaction((writes: Extract<ToWriter, { type: 'write' }>[]) => {
  for (const w of writes) {
    for (const draft of w.segments) {
      const s = inTimeOrder(draft);
      const { lastInsertRowid } = insertSegment.run(
        s.workspaceId, s.pipelineId, s.pipelineVersion, s.timeMin, s.timeMax, s.rows, s.anomalyRows,
        JSON.stringify(s.models), JSON.stringify(s.requests), JSON.stringify(s.columns.map((c) => c.spec)),
      );
      for (const c of s.columns) insertColumn.run(lastInsertRowid, c.spec.name, columnBytes(c.data));
    }
  }
});

let queue: Extract<ToWriter, { type: 'write' }>[] = [];
let retry: NodeJS.Timeout | undefined;
const post = (m: FromWriter) => port.postMessage(m);

/** Writes everything queued; true when nothing is left. */
function drain(): boolean {
  if (queue.length === 0) return true;
  const started = performance.now();
  const rows = queue.reduce((a, w) => a + w.rows, 0);
  try {
    writeAll(queue);
    post({ type: 'written', rows, bytes: queue.reduce((a, w) => a + w.bytes, 0), ms: performance.now() - started });
    queue = [];
    return true;
  } catch (e) {
    post({ type: 'failed', error: (e as Error).message, rows, ms: performance.now() - started });
    retry ??= setTimeout(() => { retry = undefined; drain(); }, retryMs);
    return false;
  }
}

port.on('message', (m: ToWriter) => {
  if (m.type === 'write') { queue.push(m); drain(); }
  else if (m.type === 'sync') post({ type: 'synced', id: m.id, ok: drain() });
  else {
    clearTimeout(retry);
    db.close();
    port.close();
  }
});
