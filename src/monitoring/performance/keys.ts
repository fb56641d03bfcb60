/**
 * How a ground-truth label finds its prediction. The key is named by a spec: `request_id` (the
 * inference's request id plus the row within the request) or `metadata.<field>` (the caller's own
 * id, logged as request metadata: one value for a one-row request, or a list with one value per
 * row). Stored keys carry their spec ("request_id:<id>:<row>", "metadata.transaction_id:<value>"),
 * so labels uploaded under one spec never match rows under another.
 */
import { fail } from '../../errors/index.ts';
import type { Segment } from '../../logs/read.ts';

export type KeySpec = 'request_id' | `metadata.${string}`;

export function checkKeySpec(spec: unknown, code: 'INVALID_FEEDBACK' | 'INVALID_MONITOR' = 'INVALID_FEEDBACK'): KeySpec {
  if (spec === undefined || spec === null || spec === '') return 'request_id';
  if (spec === 'request_id' || (typeof spec === 'string' && /^metadata\.[A-Za-z0-9_.-]+$/.test(spec) && spec !== 'metadata.request_id')) return spec as KeySpec;
  if (spec === 'metadata.request_id') return 'request_id';
  return fail(code, `'key' must be 'request_id' or 'metadata.<field>' (a caller's id logged with the request), got ${JSON.stringify(spec)}`);
}

/** The stored key of one uploaded label's key value(s). */
export function labelKey(spec: KeySpec, value: unknown, row: unknown): string {
  if (spec === 'request_id') return `request_id:${String(value)}:${row === undefined || row === null ? 0 : Number(row)}`;
  return `${spec}:${String(value)}`;
}

/** The stored key of row `row` (of `rows`) of a logged request; null when the row has no such id. */
export function requestRowKey(spec: KeySpec, requestId: string | null, metadata: Record<string, unknown>, row: number, rows: number): string | null {
  if (spec === 'request_id') return requestId === null ? null : `request_id:${requestId}:${row}`;
  const v = metadata[spec.slice('metadata.'.length)];
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.length === rows && v[row] !== null && v[row] !== undefined ? `${spec}:${String(v[row])}` : null;
  // One id for a request of several rows: the row within the request tells them apart.
  return rows === 1 ? `${spec}:${String(v)}` : `${spec}:${String(v)}:${row}`;
}

/** The stored key of logged row `i` of a segment. */
export function rowKey(spec: KeySpec, seg: Segment, i: number): string | null {
  const r = seg.request(i);
  return requestRowKey(spec, r.requestId, r.metadata, r.row, r.rows);
}

/** The columns of an uploaded row that hold its key. */
export const keyColumns = (spec: KeySpec): string[] => (spec === 'request_id' ? ['request_id', 'row'] : [spec.slice('metadata.'.length)]);
