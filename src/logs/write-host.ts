/**
 * The inference log's SQLite writer thread: owns its own connection to the data dir's database
 * (WAL lets the main thread read meanwhile) and inserts the segments the main thread hands over,
 * through the backend-neutral queue (write-queue.ts): one transaction per drain, retried whole.
 */
import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';
import { columnBytes, inTimeOrder } from './segments.ts';
import { type FromWriter, type ToWriter, type WriteBatch, WriteQueue } from './write-queue.ts';

export type { FromWriter, ToWriter } from './write-queue.ts';

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

const writeAll = db.transaction((writes: WriteBatch[]) => {
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

const queue = new WriteQueue(writeAll, retryMs, (m: FromWriter) => port.postMessage(m));

port.on('message', (m: ToWriter) => {
  if (m.type !== 'close') return queue.handle(m);
  queue.close();
  db.close();
  port.close();
});
