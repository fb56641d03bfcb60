/**
 * Durations ("90s", "12h", "30d", or milliseconds) and points in time (epoch ms or ISO 8601):
 * the one parser the API, the domain and the CLI share, with the bounds every stored time keeps.
 */
import { type ErrorCode, fail } from '../errors/index.ts';

/** The latest time accepted: the end of year 9999 UTC, the last that ISO 8601 writes with four digits (and Python's datetime reads). */
export const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
/** The longest duration accepted: 100 years of days. Longer spans mean nothing here and push times out of range. */
export const MAX_DURATION = 36_500 * 86_400_000;

const UNITS = { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 } as const;
const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/;
// Calendar date, optionally with a time and an offset (RFC 3339 with ISO 8601's optional parts).
const ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?)?$/;

export const DURATION_HELP = 'milliseconds, or like "500ms", "90s", "5m", "12h", "30d"';
export const TIME_HELP = 'epoch milliseconds or an ISO 8601 time';

/** Milliseconds from ms or "500ms", "90s", "5m", "12h", "30d": a whole number in [1, MAX_DURATION], else undefined. */
export function readDuration(v: unknown): number | undefined {
  let ms = NaN;
  if (typeof v === 'number') ms = v;
  else if (typeof v === 'string') {
    const m = DURATION.exec(v);
    if (m) ms = Number(m[1]) * UNITS[(m[2] ?? 'ms') as keyof typeof UNITS];
  }
  // 1.5h is whole milliseconds; 0.5ms is not (and neither is a float's rounding error).
  const whole = Math.round(ms);
  return Number.isFinite(ms) && Math.abs(ms - whole) < 1e-6 && whole >= 1 && whole <= MAX_DURATION ? whole : undefined;
}

const daysIn = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();

/** Epoch ms from epoch ms (a number or a string of digits) or an ISO 8601 time, in [0, MAX_TIME]; else undefined. */
export function readTime(v: unknown): number | undefined {
  let t = NaN;
  if (typeof v === 'number') t = v;
  else if (typeof v === 'string') {
    const s = v.trim();
    if (/^\d+$/.test(s)) t = Number(s);
    else {
      // Date.parse alone takes "March 7", "2024-02-30" (as 1 March) and "24:00": check the fields first.
      const m = ISO.exec(s);
      if (m) {
        const [, y, mo, d, h = '0', mi = '0', sec = '0'] = m;
        const ok = +mo >= 1 && +mo <= 12 && +d >= 1 && +d <= daysIn(+y, +mo) && +h <= 23 && +mi <= 59 && +sec <= 59;
        if (ok) t = Date.parse(s.replace(' ', 'T'));
      }
    }
  }
  return Number.isInteger(t) && t >= 0 && t <= MAX_TIME ? t : undefined;
}

/** A duration, or the request fails with `code` and a message naming `field`. */
export function parseDuration(v: unknown, field: string, code: ErrorCode = 'INVALID_REQUEST'): number {
  return readDuration(v) ?? fail(code, `'${field}' must be a duration (${DURATION_HELP}; at most ${formatDuration(MAX_DURATION)}), got ${JSON.stringify(v)}`);
}

/** A time, or the request fails with `code` and a message naming `field`. */
export function parseTime(v: unknown, field: string, code: ErrorCode = 'INVALID_REQUEST'): number {
  return readTime(v) ?? fail(code, `'${field}' must be a time (${TIME_HELP}, between 1970 and the end of 9999), got ${JSON.stringify(v)}`);
}

/** The largest whole unit: 86400000 → "1d", 1500 → "1500ms". */
export function formatDuration(ms: number): string {
  for (const [u, f] of [['d', 86400e3], ['h', 3600e3], ['m', 60e3], ['s', 1e3]] as const) if (ms % f === 0) return `${ms / f}${u}`;
  return `${ms}ms`;
}

/** ISO 8601 for a stored time; null for none or for one no Date can hold, so one odd row never breaks a listing. */
export function isoTime(t: number | null | undefined): string | null {
  if (t === null || t === undefined) return null;
  const d = new Date(Number(t));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}
