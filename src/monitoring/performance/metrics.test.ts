/** The performance metrics against scikit-learn (testdata/performance/make_vectors.py), at 1e-9. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { classificationMetrics, regressionMetrics } from './metrics.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const vectors = JSON.parse(fs.readFileSync(path.join(ROOT, 'testdata/performance/vectors.json'), 'utf8'));
/** Absolute for values up to 1, relative above (MAPE over a truth of 0 is ~1e14). */
const TOL = 1e-9;

function close(actual: number | null, want: number | null, what: string): void {
  if (want === null) return assert.equal(actual, null, `${what}: got ${actual}, want null`);
  assert.ok(actual !== null && Math.abs(actual - want) <= TOL * Math.max(1, Math.abs(want)), `${what}: got ${actual}, want ${want}`);
}

describe('performance metrics equal scikit-learn on the same joined rows', () => {
  for (const c of vectors.cases) {
    it(c.name, () => {
      // the join: rows without a label are left out
      const keep = (c.truth as unknown[]).map((t, i) => (t === null ? -1 : i)).filter((i) => i >= 0);
      if (c.kind === 'regression') {
        const r = regressionMetrics(keep.map((i) => c.truth[i]), keep.map((i) => c.predicted[i]));
        for (const [k, v] of Object.entries(c.expected)) close(r.metrics[k as keyof typeof r.metrics], v as number, k);
        return;
      }
      const r = classificationMetrics({
        truth: keep.map((i) => String(c.truth[i])), predicted: keep.map((i) => String(c.predicted[i])), positive: String(c.positive),
        probabilities: c.probabilities && keep.map((i) => c.probabilities[i]), classes: c.classes?.map(String),
      });
      assert.equal(r.count, keep.length);
      for (const [k, v] of Object.entries(c.expected)) close(r.metrics[k as keyof typeof r.metrics], v as number | null, k);
      assert.deepEqual(r.confusion_matrix, c.confusion_matrix);
    });
  }
});
