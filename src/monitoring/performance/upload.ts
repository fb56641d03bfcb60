/**
 * Ground-truth uploads as rows: JSON records (an array, or {"records": [...]}), CSV, Arrow IPC
 * (stream or file) or Parquet. Every format ends as plain row objects; 64-bit integers become
 * numbers (ids past 2^53 should be sent as strings).
 */
import { parse } from 'csv-parse/sync';
import { compressors } from 'hyparquet-compressors';
import { parquetReadObjects } from 'hyparquet';
import { readArrow } from '../../codecs/arrow.ts';
import { fail } from '../../errors/index.ts';

export const CSV = 'text/csv';
export const PARQUET = 'application/vnd.apache.parquet';

export type Row = Record<string, unknown>;

const plain = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v);
const plainRow = (r: Record<string, unknown>): Row => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)]));

function csvRows(text: string): Row[] {
  try {
    // Numbers stay numbers; everything else stays text ("fraud", "tx-17").
    return parse(text, { columns: true, skip_empty_lines: true, trim: true, cast: (v) => (v !== '' && Number.isFinite(Number(v)) ? Number(v) : v === '' ? null : v) });
  } catch (e) {
    return fail('INVALID_FEEDBACK', `the CSV body cannot be read: ${(e as Error).message}`);
  }
}

async function parquetRows(bytes: Buffer): Promise<Row[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  try {
    return (await parquetReadObjects({ file, compressors })).map(plainRow);
  } catch (e) {
    return fail('INVALID_FEEDBACK', `the body is not a readable Parquet file: ${(e as Error).message}`);
  }
}

/** The uploaded rows, whatever the format; fails when there are none. */
export async function uploadRows(contentType: string | undefined, body: unknown): Promise<Row[]> {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  let rows: unknown;
  if (type === CSV) rows = csvRows(Buffer.isBuffer(body) ? body.toString('utf8') : String(body));
  else if (type === PARQUET) rows = await parquetRows(body as Buffer);
  else if (Buffer.isBuffer(body)) rows = readArrow(body).toArray().map((r) => plainRow(r.toJSON()));
  else rows = Array.isArray(body) ? body : body && typeof body === 'object' ? (body as { records?: unknown }).records : undefined;
  if (!Array.isArray(rows) || rows.length === 0) fail('INVALID_FEEDBACK', 'the body must hold at least one row: a JSON array of records (or {"records": [...]}), CSV, Arrow IPC or Parquet');
  (rows as unknown[]).forEach((r, i) => (r && typeof r === 'object' && !Array.isArray(r)) || fail('INVALID_FEEDBACK', `row ${i} is not an object`));
  return rows as Row[];
}
