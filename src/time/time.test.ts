/** The one duration and time parser: what it takes, what it refuses, and the bounds it keeps. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BettongError } from '../errors/index.ts';
import { MAX_DURATION, MAX_TIME, formatDuration, isoTime, parseDuration, parseTime, readDuration, readTime } from './index.ts';

describe('durations', () => {
  it('reads milliseconds and every unit, ms included', () => {
    assert.equal(readDuration(10), 10);
    assert.equal(readDuration('1500'), 1500);
    assert.equal(readDuration('500ms'), 500);
    assert.equal(readDuration('90s'), 90_000);
    assert.equal(readDuration('5m'), 300_000);
    assert.equal(readDuration('1.5h'), 5_400_000);
    assert.equal(readDuration(' 24h '), 86_400_000);
    assert.equal(readDuration('30d'), 30 * 86_400_000);
    assert.equal(readDuration('36500d'), MAX_DURATION);
  });
  it('refuses zero, negatives, fractions of a millisecond, huge, NaN-ish and unknown units', () => {
    for (const v of [0, -1, '-5s', 0.5, '0.5ms', 1426288704421741723648, '1426288704421741723648', '36501d', Infinity, NaN, 'NaN', '', '1y', '1 week', 'h', null, true, {}]) {
      assert.equal(readDuration(v), undefined, JSON.stringify(v));
    }
  });
  it('fails with the given code and a message naming the field', () => {
    assert.throws(() => parseDuration('soon', 'window.width', 'INVALID_ASSAY'), (e: BettongError) => e.code === 'INVALID_ASSAY' && e.message.includes("'window.width'"));
    assert.throws(() => parseDuration(-1, 'expires_in'), (e: BettongError) => e.code === 'INVALID_REQUEST' && e.status === 400 && e.message.includes("'expires_in'"));
  });
  it('formats in the largest whole unit', () => {
    assert.deepEqual([86_400_000, 7_200_000, 90_000, 1500].map(formatDuration), ['1d', '2h', '90s', '1500ms']);
  });
});

describe('times', () => {
  it('reads epoch ms and ISO 8601 dates and times', () => {
    assert.equal(readTime(0), 0);
    assert.equal(readTime('1700000000000'), 1_700_000_000_000);
    assert.equal(readTime('2024-03-01'), Date.UTC(2024, 2, 1));
    assert.equal(readTime('2024-03-01T10:20:30.5Z'), Date.UTC(2024, 2, 1, 10, 20, 30, 500));
    assert.equal(readTime('2024-03-01T10:20+02:00'), Date.UTC(2024, 2, 1, 8, 20));
    assert.equal(readTime('9999-12-31T23:59:59.999Z'), MAX_TIME);
  });
  it('refuses non-ISO text, impossible dates, negatives and times past 9999', () => {
    for (const v of ['March 7 2024', 'yesterday', '2024-02-30', '2023-02-29', '2024-13-01', '2024-01-01T24:00', '2024-01-01T10:60', '-1', -1,
      1426288704421741723648, '1426288704421741723648', MAX_TIME + 1, '+010000-01-01T00:00:00Z', 1.5, NaN, 'NaN', '', null, {}]) {
      assert.equal(readTime(v), undefined, JSON.stringify(v));
    }
    assert.equal(readTime('2024-02-29'), Date.UTC(2024, 1, 29));
  });
  it('fails naming the field', () => {
    assert.throws(() => parseTime('1e400', 'expires_at'), (e: BettongError) => e.code === 'INVALID_REQUEST' && e.message.includes("'expires_at'"));
  });
  it('formats a stored time as ISO, and one no Date can hold as null instead of throwing', () => {
    assert.equal(isoTime(0), '1970-01-01T00:00:00.000Z');
    assert.equal(isoTime(null), null);
    assert.equal(isoTime(1.4e21), null);
  });
});
