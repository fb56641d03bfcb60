/**
 * Reading inference logs: newest first by default, chronological when a time range is
 * given, paged by an opaque cursor so any number of rows can be read. Log order is segment
 * order (first time, then id) and row order within a segment, which is time order; a request
 * that finished a flush late (a slow shadow) sorts with the flush that logged it.
 */
import { fail } from '../errors/index.ts';
import type { DB } from '../store/index.ts';
import { type LogRecord, type SegmentHead, headColumns, loadSegment } from './read.ts';

export type { LogRecord } from './read.ts';

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

export interface LogPage {
  records: LogRecord[];
  next_cursor: string | null;
}

export const MAX_PAGE = 10_000;
/** Segment headers fetched per query while filling a page. */
const HEADS = 16;

/** A row's position: its segment's first time and id, and the row within it. */
type Position = [number, number, number];

const encodeCursor = (p: Position) => Buffer.from(JSON.stringify(p)).toString('base64url');

function decodeCursor(c: string): Position {
  try {
    const v = JSON.parse(Buffer.from(c, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 3 && v.every(Number.isInteger)) return v as Position;
  } catch { /* fall through */ }
  return fail('INVALID_REQUEST', `cursor '${c}' is not one this server gave out`);
}

export async function queryLogs(db: DB, pipelineId: number, q: LogQuery): Promise<LogPage> {
  const limit = q.limit ?? 100;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) fail('INVALID_REQUEST', `limit must be an integer in [1, ${MAX_PAGE}]`);
  for (const k of ['start', 'end'] as const) {
    if (q[k] !== undefined && !Number.isFinite(q[k])) fail('INVALID_REQUEST', `'${k}' must be a time (epoch ms or ISO 8601)`);
  }
  const asc = q.start !== undefined || q.end !== undefined;
  const start = q.start ?? -Infinity;
  const end = q.end ?? Infinity;
  const cursor = q.cursor ? decodeCursor(q.cursor) : undefined;
  // Where the next segment header starts: the cursor's segment itself (inclusive) or after the last one read.
  let from: { t: number; id: number; inclusive: boolean } | undefined = cursor && { t: cursor[0], id: cursor[1], inclusive: true };
  const records: LogRecord[] = [];
  let last: Position | undefined;
  for (;;) {
    let sq = db.selectFrom('inference_log_segments').select(headColumns).where('pipeline_id', '=', pipelineId);
    if (q.start !== undefined) sq = sq.where('time_max', '>=', q.start);
    if (q.end !== undefined) sq = sq.where('time_min', '<', q.end);
    if (q.anomaly === true) sq = sq.where('anomaly_rows', '>', 0);
    if (q.anomaly === false) sq = sq.where((eb) => eb('anomaly_rows', '<', eb.ref('rows')));
    if (from) {
      const { t, id, inclusive } = from;
      sq = sq.where((eb) => eb.or([eb('time_min', asc ? '>' : '<', t), eb.and([eb('time_min', '=', t), eb('id', asc ? (inclusive ? '>=' : '>') : (inclusive ? '<=' : '<'), id)])]));
    }
    const dir = asc ? 'asc' : 'desc';
    const heads = await sq.orderBy('time_min', dir).orderBy('id', dir).limit(HEADS).execute() as SegmentHead[];
    for (const head of heads) {
      const seg = await loadSegment(db, head);
      const n = head.rows;
      let i = asc ? 0 : n - 1;
      if (cursor && head.id === cursor[1]) i = asc ? cursor[2] + 1 : cursor[2] - 1;
      for (; asc ? i < n : i >= 0; asc ? i++ : i--) {
        const t = seg.time[i];
        if (t < start || t >= end) continue;
        if (q.anomaly !== undefined && (seg.anomalies(i).length > 0) !== q.anomaly) continue;
        if (records.length === limit) return { records, next_cursor: encodeCursor(last!) };
        records.push(seg.record(i));
        last = [Number(head.time_min), head.id, i];
      }
    }
    if (heads.length < HEADS) return { records, next_cursor: null };
    const h = heads[heads.length - 1];
    from = { t: Number(h.time_min), id: h.id, inclusive: false };
  }
}

/** Every matching record, a page (up to 1,000 records) at a time, never holding more than one page. */
export async function* iterateLogPages(db: DB, pipelineId: number, q: Omit<LogQuery, 'cursor' | 'limit'>): AsyncGenerator<LogRecord[]> {
  // Exports read chronologically; without a range, everything up to now.
  const range = { ...q, start: q.start ?? 0 };
  let cursor: string | undefined;
  do {
    const page = await queryLogs(db, pipelineId, { ...range, limit: 1000, cursor });
    yield page.records;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}
