/**
 * CBPE against a committed NannyML run (testdata/performance/make_cbpe_reference.py): the same
 * reference, the same chunks, NannyML's estimates and sampling errors; and against the truth:
 * under covariate shift the realised metric lies within the estimate's band.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESTIMATED_METRICS, calibrate, estimate, isotonicFit } from './cbpe.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ref = JSON.parse(fs.readFileSync(path.join(ROOT, 'testdata/performance/cbpe_reference.json'), 'utf8'));
/** NannyML computes in float64 as we do; what differs is summation order. */
const TOL = 1e-9;
/**
 * Except the ROC AUC sampling error: it ranks the reference's positives by score, and where scores
 * tie NumPy's unstable argsort orders them its own way (2e-5 relative here, 1e-7 of the band).
 */
const AUC_SE_TOL = 1e-6;

describe('CBPE', () => {
  const c = calibrate(ref.reference.y_true, ref.reference.y_pred, ref.reference.y_pred_proba);
  const a = ref.analysis;
  assert.ok(ref.needs_calibration, 'the reference run calibrates (its scores are overconfident)');

  for (const chunk of ref.chunks) {
    it(`rows ${chunk.start}–${chunk.end}: estimates and sampling errors equal NannyML ${ref.nannyml}'s`, () => {
      const est = estimate(c, a.y_pred.slice(chunk.start, chunk.end), a.y_pred_proba.slice(chunk.start, chunk.end));
      for (const m of ESTIMATED_METRICS) {
        const want = chunk[m];
        const got = est[m];
        assert.ok(Math.abs(got.value! - want.estimated) <= TOL, `${m}: got ${got.value}, NannyML ${want.estimated}`);
        const tol = m === 'roc_auc' ? AUC_SE_TOL : TOL;
        assert.ok(Math.abs(got.sampling_error! - want.sampling_error) <= tol, `${m} sampling error: got ${got.sampling_error}, NannyML ${want.sampling_error}`);
        assert.ok(Math.abs(got.lower! - want.lower) <= 3 * tol && Math.abs(got.upper! - want.upper) <= 3 * tol, `${m} band: got [${got.lower}, ${got.upper}], NannyML [${want.lower}, ${want.upper}]`);
      }
    });
  }

  it('under covariate shift the estimate follows the realised metric down: the realised value lies in the band of nearly every window', () => {
    const before = ref.chunks.slice(0, 6);
    const after = ref.chunks.slice(6);
    const meanOf = (cs: any[], k: 'estimated' | 'realised') => cs.reduce((s, x) => s + x.accuracy[k], 0) / cs.length;
    assert.ok(meanOf(after, 'realised') < meanOf(before, 'realised') - 0.05, 'the shift lowers the realised accuracy');
    assert.ok(meanOf(after, 'estimated') < meanOf(before, 'estimated') - 0.05, 'and the estimate sees it without labels');
    assert.ok(Math.abs(meanOf(after, 'estimated') - meanOf(after, 'realised')) < 0.02, 'over the shifted windows the estimate is right on average');
    // ±3 sampling errors: a window's realised value falls outside now and then (sampling), rarely
    const outside: string[] = [];
    for (const chunk of ref.chunks) {
      const est = estimate(c, a.y_pred.slice(chunk.start, chunk.end), a.y_pred_proba.slice(chunk.start, chunk.end));
      for (const m of ESTIMATED_METRICS) {
        if (chunk[m].realised < est[m].lower! || chunk[m].realised > est[m].upper!) outside.push(`${m}@${chunk.start}`);
      }
    }
    assert.ok(outside.length <= 2, `realised outside the band in ${outside.join(', ')}`);
  });

  it('isotonic calibration pools ties and violators like scikit-learn', () => {
    const fit = isotonicFit([0.1, 0.2, 0.2, 0.3, 0.4], [0, 1, 0, 0, 1]);
    assert.deepEqual(fit.x, [0.1, 0.2, 0.3, 0.4]);
    assert.deepEqual(fit.y, [0, 1 / 3, 1 / 3, 1]); // 0.2 pools its two rows (0.5, weight 2), then with 0.3 (0)
  });
});
