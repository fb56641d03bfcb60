/** Reads records for `bettong infer` from a JSON (records or OIP) or CSV file. */
import fs from 'node:fs';
import { parse } from 'csv-parse/sync';

/** CSV cells become numbers when they look like numbers, arrays when they hold JSON arrays. */
function cellValue(v: string): unknown {
  const s = v.trim();
  if (s.startsWith('[')) {
    try { return JSON.parse(s); } catch { return v; }
  }
  if (s !== '' && !Number.isNaN(Number(s))) return Number(s);
  if (s === 'true' || s === 'false') return s === 'true';
  return v;
}

export function readRecords(file: string): Record<string, unknown>[] {
  const text = fs.readFileSync(file, 'utf8');
  if (file.toLowerCase().endsWith('.csv')) {
    const rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, cellValue(v)])));
  }
  const body = JSON.parse(text);
  // JSON Lines also works: one record per line.
  return Array.isArray(body) ? body : [body];
}
