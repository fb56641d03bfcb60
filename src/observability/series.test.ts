// The hot-path series expose exactly what prom-client's own Counter and Histogram would.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import client from 'prom-client';
import { FastCounter, FastHistogram } from './series.ts';

test('FastCounter and FastHistogram expose the same text as prom-client for the same observations', async () => {
  const ours = new client.Registry();
  const theirs = new client.Registry();
  const buckets = [0.001, 0.01, 0.1, 1];
  const fc = new FastCounter(ours, 'x_total', 'a counter', ['pipeline', 'code']);
  const fh = new FastHistogram(ours, 'x_seconds', 'a histogram', ['pipeline'], buckets);
  const pc = new client.Counter({ name: 'x_total', help: 'a counter', labelNames: ['pipeline', 'code'], registers: [theirs] });
  const ph = new client.Histogram({ name: 'x_seconds', help: 'a histogram', labelNames: ['pipeline'], buckets, registers: [theirs] });
  const values = [0.0005, 0.001, 0.002, 0.05, 0.5, 3, 0.01];
  for (const [i, v] of values.entries()) {
    const pipeline = i % 2 ? 'a' : 'b';
    fc.of({ pipeline, code: '' }).inc();
    pc.inc({ pipeline, code: '' });
    fh.of({ pipeline }).observe(v);
    ph.observe({ pipeline }, v);
  }
  fc.of({ pipeline: 'a', code: 'E' }).inc(3);
  pc.inc({ pipeline: 'a', code: 'E' }, 3);
  const sorted = (text: string) => text.split('\n').filter(Boolean).sort();
  assert.deepEqual(sorted(await ours.metrics()), sorted(await theirs.metrics()));
});
