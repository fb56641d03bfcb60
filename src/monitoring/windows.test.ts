/** Window arithmetic and threshold statuses. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BettongError } from '../errors/index.ts';
import { resolveDefinition, statusOf } from './definition.ts';
import { firstEndingAfter, newestComplete, windowAt, windowsIn } from './windows.ts';

describe('windows', () => {
  const g = { start: 1000, width: 100, interval: 50 };
  it('places window i at start + i·interval, width long', () => {
    assert.deepEqual(windowAt(g, 3), { index: 3, start: 1150, end: 1250 });
  });
  it('knows the newest complete window and where a resumed assay picks up', () => {
    assert.equal(newestComplete(g, 1099), -1);
    assert.equal(newestComplete(g, 1100), 0);
    assert.equal(newestComplete(g, 1249), 2);
    assert.equal(firstEndingAfter(g, 1250), 4);
    assert.equal(firstEndingAfter(g, 0), 0);
  });
  it('lists the windows wholly inside a range', () => {
    assert.deepEqual(windowsIn(g, 1000, 1200).map((w) => w.index), [0, 1, 2]);
    assert.deepEqual(windowsIn(g, 1010, 1200).map((w) => w.index), [1, 2]);
    assert.deepEqual(windowsIn(g, 1000, 1099), []);
  });
});

describe('definitions', () => {
  const base = { pipeline: 'p', target: { column: 'in.x' }, baseline: { values: [1] }, window: { width: '1h' } };
  it('fills defaults (PSI 0.1 / 0.25, 5 quantile bins, epsilon 1e-4)', () => {
    const d = resolveDefinition(base, 5);
    assert.deepEqual(d.window, { width: 3_600_000, interval: 3_600_000, start: 5 });
    assert.deepEqual(d.thresholds, { warning: 0.1, alert: 0.25, direction: 'above' });
    assert.deepEqual(d.binning, { mode: 'quantile', bins: 5, edges: null });
    assert.equal(d.epsilon, 1e-4);
    assert.equal(resolveDefinition({ ...base, metric: 'ks' }, 0).thresholds.direction, 'below');
  });
  it('judges distances from above and p-values from below', () => {
    const t = { warning: 0.1, alert: 0.25, direction: 'above' as const };
    assert.deepEqual([0.05, 0.1, 0.2, 0.25, null].map((x) => statusOf(t, x)), ['ok', 'warning', 'warning', 'alert', 'no_data']);
    const p = { warning: 0.1, alert: 0.05, direction: 'below' as const };
    assert.deepEqual([0.5, 0.09, 0.01].map((x) => statusOf(p, x)), ['ok', 'warning', 'alert']);
  });
  it('refuses bad thresholds and edges with their own codes', () => {
    const code = (d: object) => { try { resolveDefinition({ ...base, ...d } as never, 0); return 'none'; } catch (e) { return (e as BettongError).code; } };
    assert.equal(code({ thresholds: { warning: 0.3, alert: 0.2 } }), 'INVALID_THRESHOLDS');
    assert.equal(code({ metric: 'sumdiff', thresholds: { alert: 1.5 } }), 'INVALID_THRESHOLDS');
    assert.equal(code({ metric: 'chisquare', thresholds: { alert: 0.05, warning: 0.01 } }), 'INVALID_THRESHOLDS');
    assert.equal(code({ binning: { edges: [1, 1] } }), 'INVALID_BIN_EDGES');
    assert.equal(code({ binning: { mode: 'quantile', edges: [1, 2] } }), 'INVALID_BIN_EDGES');
    assert.equal(code({ window: { width: 0 } }), 'INVALID_ASSAY');
    assert.equal(code({ target: { column: 'in.x', kind: 'categorical' }, metric: 'ks' }), 'INVALID_ASSAY');
    assert.equal(code({ alert: { webhook: 'not a url' } }), 'INVALID_ASSAY');
  });
});
