/**
 * Reading inference logs: newest first by default, chronological when a time range is
 * given, paged by an opaque cursor so any number of rows can be read.
 */
import { fail } from '../errors/index.ts';
import type { DB } from '../store/index.ts';

export interface LogQuery {
  /** epoch ms, inclusive */
  start?: number;
  /** epoch ms, exclusive */
  end?: number;
  limit?: number;
  cursor?: string;
  /** true: only rows that broke a validation; false: only rows that broke none. */
  anomaly?: boolean;
}

export type LogRecord = Record<string, unknown>;

export interface LogPage {
  records: LogRecord[];
  next_cursor: string | null;
}

export const MAX_PAGE = 10_000;

const encodeCursor = (time: number, id: number) => Buffer.from(JSON.stringify([time, id])).toString('base64url');

function decodeCursor(c: string): [number, number] {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && v.every(Number.isInteger)) return v as [number, number];
  } catch { /* fall through */ }
  return fail('INVALID_REQUEST', `cursor '${c}' is not one this server gave out`);
}

type Row = {
  id: number; time: number; pipeline_version: number; request_id: string | null; inputs: string; outputs: string;
  models: string; latency_ms: number; metadata: string; shadow: string; anomalies: string; anomaly_count: number;
};

/** Flat columns: time, in.*, out.*, metadata.* */
function toRecord(r: Row): LogRecord {
  const rec: LogRecord = { time: Number(r.time) };
  for (const [k, v] of Object.entries(JSON.parse(r.inputs))) rec[`in.${k}`] = v;
  for (const [k, v] of Object.entries(JSON.parse(r.outputs))) rec[`out.${k}`] = v;
  for (const [model, outs] of Object.entries(JSON.parse(r.shadow) as Record<string, Record<string, unknown>>)) {
    for (const [k, v] of Object.entries(outs)) rec[`shadow.${model}.${k}`] = v;
  }
  rec['anomaly.count'] = r.anomaly_count;
  for (const name of JSON.parse(r.anomalies) as string[]) rec[`anomaly.${name}`] = true;
  rec['metadata.pipeline_version'] = r.pipeline_version;
  rec['metadata.models'] = JSON.parse(r.models);
  rec['metadata.latency_ms'] = r.latency_ms;
  rec['metadata.request_id'] = r.request_id;
  const meta = JSON.parse(r.metadata) as Record<string, unknown>;
  for (const [k, v] of Object.entries(meta)) rec[`metadata.${k}`] = v;
  return rec;
}

/** INVALID_REQUEST unless start and end (when given) are times; an export checks before its first byte. */
function checkRange(q: { start?: number; end?: number }): void {
  for (const k of ['start', 'end'] as const) {
    if (q[k] !== undefined && !Number.isFinite(q[k])) fail('INVALID_REQUEST', `'${k}' must be a time (epoch ms or ISO 8601)`);
  }
}

export async function queryLogs(db: DB, pipelineId: number, q: LogQuery): Promise<LogPage> {
  const limit = q.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) fail('INVALID_REQUEST', `limit must be an integer in [1, ${MAX_PAGE}]`);
  checkRange(q);
  const chronological = q.start !== undefined || q.end !== undefined;
  let query = db.selectFrom('inference_logs')
    .select(['id', 'time', 'pipeline_version', 'request_id', 'inputs', 'outputs', 'models', 'latency_ms', 'metadata', 'shadow', 'anomalies', 'anomaly_count'])
    .where('pipeline_id', '=', pipelineId);
  if (q.anomaly !== undefined) query = query.where('anomaly_count', q.anomaly ? '>' : '=', 0);
  if (q.start !== undefined) query = query.where('time', '>=', q.start);
  if (q.end !== undefined) query = query.where('time', '<', q.end);
  if (q.cursor) {
    const [t, id] = decodeCursor(q.cursor);
    query = chronological
      ? query.where((eb) => eb.or([eb('time', '>', t), eb.and([eb('time', '=', t), eb('id', '>', id)])]))
      : query.where((eb) => eb.or([eb('time', '<', t), eb.and([eb('time', '=', t), eb('id', '<', id)])]));
  }
  const dir = chronological ? 'asc' : 'desc';
  const rows = await query.orderBy('time', dir).orderBy('id', dir).limit(limit + 1).execute();
  const more = rows.length > limit;
  const page = more ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return { records: page.map(toRecord), next_cursor: more && last ? encodeCursor(Number(last.time), last.id) : null };
}

/** Every matching record, page by page, never holding more than one page. */
export async function* iterateLogs(db: DB, pipelineId: number, q: Omit<LogQuery, 'cursor' | 'limit'>): AsyncGenerator<LogRecord> {
  // Exports read chronologically; without a range, everything up to now.
  const range = { ...q, start: q.start ?? 0 };
  let cursor: string | undefined;
  do {
    const page = await queryLogs(db, pipelineId, { ...range, limit: 1000, cursor });
    yield* page.records;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}
