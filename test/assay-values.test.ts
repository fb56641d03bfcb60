/**
 * Issue 10 over a real server: baseline values arrive as sent (0, 0.0, false are not null), labels
 * that look like numbers are one category from every baseline source and every logged type, and
 * chi-square is scipy's over the bins the baseline has values in. Figures come from
 * testdata/drift/vectors.json (scipy), matched to 1e-9.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AssayDefinition, PreviewResult } from '../src/sdk/index.ts';
import { close, vectors } from '../src/monitoring/vectors.testkit.ts';
import { call, deployPipeline, expected, type TestServer, testServer } from './helpers.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const vector = (name: string) => vectors.cases.find((c: { name: string }) => c.name === name);
const repeat = <T>(counts: [T, number][]): T[] => counts.flatMap(([v, n]) => Array<T>(n).fill(v));

/** Logs one batch and returns the time it was logged at. */
async function logBatch(s: TestServer, pipeline: string, rows: Record<string, unknown>[]): Promise<number> {
  const out = await s.client.inferRecords(pipeline, rows);
  await sleep(20); // the next batch gets a later time
  return out[0].time as number;
}

describe('assay baselines and chi-square over the server (issue 10)', () => {
  let s: TestServer;
  let bcTime: number;
  const t: number[] = [];

  /** A row of all_types_identity: the fixture's first row, with the two string and the first int64 elements set. */
  const typesRow = (abc: string, digit: string): Record<string, unknown> => {
    const row: Record<string, unknown> = {};
    for (const [name, tensor] of Object.entries(expected('all_types_identity').inputs)) row[name] = tensor.data.slice(0, 2);
    row.in_string = [abc, digit];
    row.in_int64 = [Number(digit), 0];
    return row;
  };

  before(async () => {
    s = await testServer();
    await deployPipeline(s, 'bc', ['breast_cancer_logreg']);
    await deployPipeline(s, 'types', ['all_types_identity']);
    // bc: feature 0 is 20…119, as in scipy's ks_2samp(range(100), range(20, 120))
    const sample = expected('breast_cancer_logreg').inputs.input.data.slice(0, 30) as number[];
    bcTime = await logBatch(s, 'bc', Array.from({ length: 100 }, (_, i) => ({ input: [20 + i, ...sample.slice(1)] })));
    // types, window 1: a/b/c 40/35/25 and digits 0/1/2 (34/33/33); window 2: a/b/c 38/40/22 and digits 30/30/30 plus ten unseen "7"
    const w1Abc = repeat<string>([['a', 40], ['b', 35], ['c', 25]]);
    const w2Abc = repeat<string>([['a', 38], ['b', 40], ['c', 22]]);
    const w2Digits = [...Array.from({ length: 90 }, (_, i) => String(i % 3)), ...repeat<string>([['7', 10]])];
    t.push(await logBatch(s, 'types', w1Abc.map((abc, i) => typesRow(abc, String(i % 3)))));
    t.push(await logBatch(s, 'types', w2Abc.map((abc, i) => typesRow(abc, w2Digits[i]))));
    assert.ok(t[1] > t[0]);
  });
  after(() => s.close());

  const bcPreview = (extra: Partial<AssayDefinition>) => s.client.previewAssay({
    pipeline: 'bc', target: { column: 'in.input', index: 0 }, baseline: { values: [] }, window: { start: bcTime, width: 1 }, end: bcTime + 1, ...extra,
  });

  const typesPreview = (extra: Partial<AssayDefinition>): Promise<PreviewResult> => s.client.previewAssay({
    pipeline: 'types', target: { column: 'in.in_string', index: 0 }, baseline: { values: [] },
    window: { start: t[0], width: t[1] - t[0] }, end: t[1] + (t[1] - t[0]), ...extra,
  });

  it('takes a baseline of 0…9 as ten numbers (0 is not null)', async () => {
    const p = await bcPreview({ baseline: { values: Array.from({ length: 10 }, (_, i) => i) } });
    assert.equal(p.baseline.summary.count, 10);
    assert.equal((p.baseline.summary as { nan_count: number }).nan_count, 0);
    [0, 1.8, 3.6, 5.4, 7.2, 9].forEach((x, i) => close(p.baseline.edges![i], x, `edge ${i}`, 1e-12));
  });

  it('counts zeros and false in class probabilities as values, only null as NaN', async () => {
    const values = [0, 0.0, 0, 0.25, 0.5, 0.75, 1, 1, 0.1, 0.9, 0.2, 0.3, null, false];
    const p = await bcPreview({ baseline: { values } });
    assert.equal(p.baseline.summary.count, 14);
    assert.equal((p.baseline.summary as { nan_count: number }).nan_count, 1);
    assert.equal(p.baseline.counts[0], 1, 'only the null lands in the NaN / below-range bin');
  });

  it('KS and Wasserstein of 0…99 against logged 20…119 are scipy\'s (p 0.0364, W1 20)', async () => {
    const want = vector('integers_shifted');
    const values = want.baseline as number[];
    const ks = await bcPreview({ baseline: { values }, metric: 'ks' });
    close(ks.windows[0].score!, want.ks.statistic, 'ks statistic', 1e-12);
    close(ks.windows[0].pvalue!, want.ks.pvalue, 'ks p-value', 1e-9);
    assert.equal(ks.windows[0].status, 'alert');
    const w1 = await bcPreview({ baseline: { values }, metric: 'wasserstein', thresholds: { alert: 100 } });
    close(w1.windows[0].score!, want.wasserstein, 'wasserstein', 1e-11);
    // chi-square over the numeric bins: the right outlier bin is empty in the baseline and left out
    const chi = w1.windows[0].metrics.chisquare;
    assert.deepEqual(w1.windows[0].bins.window_counts, want.window_counts);
    close(chi.statistic, want.chisquare.statistic, 'chi-square statistic', 1e-9);
    close(chi.pvalue, want.chisquare.pvalue, 'chi-square p-value', 1e-9);
    assert.deepEqual([chi.df, chi.bins, chi.unscored], [want.chisquare.df, want.chisquare.bins, want.chisquare.unscored]);
  });

  it('labels "0", "1", "2" match logged strings and logged numbers, from a list, a CSV, JSON, JSON Lines or the logs', async () => {
    const digits = Array.from({ length: 300 }, (_, i) => String(i % 3));
    const csv = `id,label\n${digits.map((d, i) => `${i},${d}`).join('\n')}\n`;
    const json = JSON.stringify(digits.map((d) => ({ label: Number(d) })));
    const jsonl = digits.map((d) => JSON.stringify({ label: d })).join('\n');
    const baselines: AssayDefinition['baseline'][] = [
      { values: digits }, { values: digits.map(Number) }, { file: { content: csv, column: 'label' } },
      { file: { content: json, column: 'label' } }, { file: { content: jsonl, format: 'jsonl', column: 'label' } },
    ];
    const counts: number[][] = [];
    for (const target of [{ column: 'in.in_string', index: 1 }, { column: 'in.in_int64', index: 0, kind: 'categorical' as const }]) {
      for (const baseline of [...baselines, { start: t[0], end: t[0] + 1 }]) {
        const p = await typesPreview({ target, baseline });
        const where = `${target.column} from ${JSON.stringify(baseline).slice(0, 40)}`;
        assert.deepEqual(p.baseline.categories, ['0', '1', '2'], where);
        const [w1, w2] = p.windows;
        assert.deepEqual(w1.bins.window_counts, [0, 34, 33, 33, 0], `${where}: nothing unseen`);
        assert.equal(w1.status, 'ok', `${where}: PSI ${w1.score}`);
        assert.ok(w1.score! < 0.01, `${where}: PSI ${w1.score}`);
        counts.push(w2.bins.window_counts);
      }
    }
    // window 2: the strings have ten unseen "7"s; the int64 column logged 7 as the number 7
    assert.deepEqual(counts[0], [0, 30, 30, 30, 10]);
    for (const c of counts) assert.deepEqual(c, counts[0]);
  });

  it('chi-square of a/b/c is scipy\'s with df 2: 40/35/25 ok (p 0.1298), 38/40/22 in alert (p 0.0405)', async () => {
    const baseline = { values: repeat<string>([['a', 50], ['b', 30], ['c', 20]]) };
    const p = await typesPreview({ baseline, metric: 'chisquare' });
    for (const [w, name, status] of [[p.windows[0], 'categorical_abc', 'ok'], [p.windows[1], 'categorical_abc_drift', 'alert']] as const) {
      const want = vector(name).chisquare;
      close(w.score!, want.statistic, `${name} statistic`, 1e-9);
      close(w.pvalue!, want.pvalue, `${name} p-value`, 1e-9);
      assert.deepEqual([w.metrics.chisquare.df, w.metrics.chisquare.bins, w.metrics.chisquare.unscored], [2, 3, 0]);
      assert.equal(w.status, status, `${name}: p ${w.pvalue}`);
    }
  });

  it('says how chi-square was scored when the window has values the baseline never had', async () => {
    const p = await typesPreview({ target: { column: 'in.in_string', index: 1 }, baseline: { values: ['0', '1', '2'] }, metric: 'chisquare' });
    const w2 = p.windows[1];
    assert.equal(w2.bins.labels.at(-1), '(unseen)');
    assert.equal(w2.bins.window_counts.at(-1), 10);
    assert.deepEqual([w2.metrics.chisquare.df, w2.metrics.chisquare.bins, w2.metrics.chisquare.unscored], [2, 3, 10]);
    assert.equal(w2.score, 0, 'the 90 rows in the baseline\'s categories are spread exactly as it is');
    assert.ok(w2.metrics.psi > 0.25, 'PSI sees the unseen values');
  });

  it('refuses a body value of the wrong type instead of coercing it', async () => {
    const r = await call(s, 'POST', '/v1/assays/preview', {
      pipeline: 'bc', target: { column: 'in.input', index: '0' }, baseline: { values: [1] }, window: { width: 1 },
    });
    assert.equal(r.status, 400);
    assert.match(r.json.error, /target\/index/);
  });
});
