// The live view's buckets: counts per bucket, empty buckets kept, percentiles within a bucket's width.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Timeline } from './timeline.ts';

test('a timeline buckets requests, errors and rows and keeps empty buckets on the axis', () => {
  let now = Date.UTC(2026, 0, 1, 12, 0, 0);
  const t = new Timeline(() => now);
  for (let i = 0; i < 100; i++) t.request(i < 90 ? 2 : 40, i % 10 !== 0);
  t.rows(250);
  now += 30_000;
  t.request(5, true);
  const { step_s, points } = t.series('15m');
  assert.equal(step_s, 10);
  assert.equal(points.length, 90);
  const first = points.at(-4)!;
  assert.equal(first.requests_per_s, 10);
  assert.equal(first.error_rate, 0.1);
  assert.equal(first.rows_per_s, 25);
  assert.ok(Math.abs(first.p50_ms! - 2) / 2 < 0.13, `p50 ${first.p50_ms}`);
  assert.ok(Math.abs(first.p99_ms! - 40) / 40 < 0.13, `p99 ${first.p99_ms}`);
  assert.equal(points.at(-2)!.requests_per_s, 0);
  assert.equal(points.at(-2)!.p50_ms, null);
  assert.equal(points.at(-1)!.requests_per_s, 0.1);
  const day = t.series('24h');
  assert.equal(day.step_s, 60);
  assert.equal(day.points.length, 1440);
  assert.equal(Math.round(day.points.reduce((s, p) => s + p.requests_per_s * 60, 0)), 101);
});
