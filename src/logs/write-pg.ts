/**
 * The inference log's PostgreSQL sink: a drain's segments in one transaction through the pool,
 * on the main thread (the driver is asynchronous; encoding is one copy per column). Segment ids
 * are taken from the sequence first, so headers and column blobs each go in one multi-row insert,
 * whatever the number of segments: three round trips per flush.
 */
import { sql } from 'kysely';
import type { DB } from '../store/index.ts';
import { columnBytes, inTimeOrder } from './segments.ts';
import type { LogSink } from './write-queue.ts';

/** Rows per insert statement: PostgreSQL takes at most 65,535 parameters (11 per header, 3 per column). */
const HEADERS_PER_INSERT = 5000;
const COLUMNS_PER_INSERT = 20000;

function* chunks<T>(xs: T[], n: number): Generator<T[]> {
  for (let i = 0; i < xs.length; i += n) yield xs.slice(i, i + n);
}

export function postgresLogSink(db: DB): LogSink {
  return (batches) => db.transaction().execute(async (tx) => {
    const segments = batches.flatMap((b) => b.segments).map(inTimeOrder);
    if (segments.length === 0) return;
    const { rows } = await sql<{ id: number }>`SELECT nextval(pg_get_serial_sequence('inference_log_segments', 'id')) AS id FROM generate_series(1, ${segments.length})`.execute(tx);
    // Ascending ids in hand-over order: within one server, later flushes sort after earlier ones at equal time_min.
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    const headers = segments.map((s, i) => ({
      id: ids[i], workspace_id: s.workspaceId, pipeline_id: s.pipelineId, pipeline_version: s.pipelineVersion,
      time_min: s.timeMin, time_max: s.timeMax, rows: s.rows, anomaly_rows: s.anomalyRows,
      models: JSON.stringify(s.models), requests: JSON.stringify(s.requests), columns: JSON.stringify(s.columns.map((c) => c.spec)),
    }));
    for (const part of chunks(headers, HEADERS_PER_INSERT)) await tx.insertInto('inference_log_segments').values(part).execute();
    const columns = segments.flatMap((s, i) => s.columns.map((c) => ({ segment_id: ids[i], name: c.spec.name, data: columnBytes(c.data) })));
    for (const part of chunks(columns, COLUMNS_PER_INSERT)) await tx.insertInto('inference_log_columns').values(part).execute();
  });
}
