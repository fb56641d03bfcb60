/** Reading targets from the log's typed columns: whole and cut segments, interleaved pipelines, agree with binning the values in JS. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { openPlatform, type Platform } from '../platform.ts';
import { DEFAULT_WORKSPACE_ID } from '../store/index.ts';
import { testDatabase } from '../../test/helpers.ts';
import { numericBinning, numericHistogram } from './binning.ts';
import { type ColumnRef, categoricalWindow, numericValues, numericWindow, resolveColumn } from './source.ts';

const MODEL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../testdata/models/breast_cancer_logreg.onnx');

describe('assay targets read from the log columns', () => {
  let p: Platform;
  let dir: string;
  let col: ColumnRef;
  let label: ColumnRef;
  const ids: Record<string, number> = {};
  const want: Record<string, number[]> = { dense: [], sparse: [] };

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-source-'));
    p = await openPlatform({ dataDir: dir, database: await testDatabase(dir) });
    await p.registry.upload(DEFAULT_WORKSPACE_ID, 'bc', fs.readFileSync(MODEL));
    for (const name of ['dense', 'sparse']) {
      await p.pipelines.create(DEFAULT_WORKSPACE_ID, name, { steps: [{ model: 'bc' }] });
      ids[name] = await p.pipelines.pipelineId(DEFAULT_WORKSPACE_ID, name);
    }
    col = resolveColumn(await p.pipelines.versions(DEFAULT_WORKSPACE_ID, 'dense'), 'out.probabilities', [1]);
    label = resolveColumn(await p.pipelines.versions(DEFAULT_WORKSPACE_ID, 'dense'), 'out.label', null);
    // 'dense' owns almost every row; 'sparse' has one row in 20, interleaved. Some values are NaN or infinite (missing).
    for (let i = 0; i < 24_000; i++) {
      const name = i % 20 === 7 ? 'sparse' : 'dense';
      const v = i % 97 === 0 ? NaN : i % 89 === 0 ? Infinity : Math.fround(((i * 7919) % 1000) / 1000);
      want[name].push(Number.isFinite(v) ? v : NaN);
      p.logs.append({
        workspaceId: 1, pipelineId: ids[name], pipelineVersion: 1, time: 1_000_000 + i, inputs: [], trace: [], anomalies: [], latencyMs: 0, metadata: {},
        outputs: [
          { name: 'label', datatype: 'INT64', shape: [1], data: BigInt64Array.of(BigInt(i % 3)) },
          { name: 'probabilities', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(0, v) },
        ],
      });
    }
    await p.logs.flush();
  });
  after(async () => {
    await p.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['dense', 'sparse']) {
    it(`${name}: histogram, summary and streamed values match the JS binning`, async () => {
      const all = Float64Array.from(want[name]);
      const edges = numericBinning(all.filter((x) => !Number.isNaN(x)).sort(), 'quantile', 7).edges;
      const w = await numericWindow(p.db, ids[name], col, edges, 1_000_000, 1_024_000);
      assert.deepEqual(w.counts, numericHistogram(edges, all));
      assert.equal(w.summary.count, all.length);
      assert.equal(w.summary.nan_count, all.filter((x) => Number.isNaN(x)).length);
      const streamed = await numericValues(p.db, ids[name], col, 1_000_000, 1_024_000);
      assert.deepEqual([...streamed].map((x) => (Number.isNaN(x) ? 'NaN' : x)), want[name].map((x) => (Number.isNaN(x) ? 'NaN' : x)));
      // a sub-range
      const part = await numericWindow(p.db, ids[name], col, edges, 1_005_000, 1_006_000);
      assert.equal(part.summary.count, name === 'dense' ? 950 : 50);
    });
  }

  it('counts categories, missing and unseen values: logged numbers are the categories of their text', async () => {
    const counts = await categoricalWindow(p.db, ids.dense, label, ['0', '1'], 1_000_000, 1_024_000);
    const labels = [];
    for (let i = 0; i < 24_000; i++) if (i % 20 !== 7) labels.push(i % 3);
    assert.deepEqual(counts, [0, labels.filter((l) => l === 0).length, labels.filter((l) => l === 1).length, labels.filter((l) => l === 2).length]);
    // a profile stored when categories could be numbers counts the same
    assert.deepEqual(await categoricalWindow(p.db, ids.dense, label, [0, 1], 1_000_000, 1_024_000), counts);
  });
});
