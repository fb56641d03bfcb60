/** Output helpers: machine-readable JSON with --json, aligned tables otherwise. */
import { stringify } from 'csv-stringify/sync';

export function table(rows: Record<string, unknown>[], columns?: string[]): string {
  if (rows.length === 0) return '(none)';
  const cols = columns ?? Object.keys(rows[0]);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => Math.min(cell(r[c]).length, 60))));
  const line = (vals: string[]) => vals.map((v, i) => (v.length > 60 ? `${v.slice(0, 57)}...` : v).padEnd(widths[i])).join('  ').trimEnd();
  return [line(cols.map((c) => c.toUpperCase())), ...rows.map((r) => line(cols.map((c) => cell(r[c]))))].join('\n');
}

/** Records as CSV; array and object cells are written as JSON. */
export function csv(rows: Record<string, unknown>[]): string {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : v);
  return stringify(rows.map((r) => cols.map((c) => cell(r[c]))), { header: true, columns: cols });
}
