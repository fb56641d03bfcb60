/**
 * Assay benchmark: 1,000,000 inference log rows, one assay over them, beside the same computation
 * done with numpy (and scipy for KS) on the same values, measured in the same run.
 *
 *   bettong  - AssayService.preview: baseline profile from the first 20% of the logs (streamed out of
 *              the log's typed column blobs, sorted, quantile edges), then the window (the other 80%)
 *              binned in JS over the same blobs; with metric ks, the window's values are read too.
 *   numpy    - the target column exported once to a float64 file; a Python subprocess (the repo's
 *              .venv) times quantile edges + the same binning rule + PSI/MaxDiff/SumDiff (and
 *              scipy.stats.ks_2samp) on arrays already in memory, and separately with the file load.
 *
 * Usage: npm run bench:assay   (BENCH_ROWS=1000000, BENCH_REPEAT=3 by default; BETTONG_DATABASE_URL: on that PostgreSQL database)
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { psi, proportions } from '../src/monitoring/metrics.ts';
import { numericValues, numericWindow, resolveColumn } from '../src/monitoring/source.ts';
import { openPlatform } from '../src/platform.ts';
import { DEFAULT_WORKSPACE_ID } from '../src/store/index.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const BASELINE_SHARE = 0.2;
const PYTHON = path.join(ROOT, '.venv', 'bin', 'python');
/** The store the log lives in: SQLite in a temp dir, or this PostgreSQL database. */
const database = process.env.BETTONG_DATABASE_URL || undefined;

const log = (s: string) => process.stderr.write(`${s}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NUMPY = String.raw`
import json, sys, time
import numpy as np
from scipy import stats
path, n_base, repeat, eps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), 1e-4

def assay(x, with_ks):
    b, w = x[:n_base], x[n_base:]
    bs = np.sort(b[~np.isnan(b)])
    edges = np.unique(np.quantile(bs, np.linspace(0, 1, 6)))
    k = max(len(edges) - 1, 1)
    def hist(v):
        i = np.searchsorted(edges, v, side="right")
        i = np.where(v == edges[-1], k, i)
        i = np.where(v > edges[-1], k + 1, i)
        i = np.where(np.isnan(v), 0, i)
        return np.bincount(i, minlength=k + 2) / len(v)
    pb, pw = hist(b), hist(w)
    sb, sw = np.where(pb == 0, eps, pb), np.where(pw == 0, eps, pw)
    out = {"psi": float(((sw - sb) * np.log(sw / sb)).sum()), "maxdiff": float(np.abs(pw - pb).max()), "sumdiff": float(0.5 * np.abs(pw - pb).sum())}
    if with_ks:
        r = stats.ks_2samp(bs, w[~np.isnan(w)])
        out["ks"] = [float(r.statistic), float(r.pvalue)]
    return out

res = {}
# A saved assay's run: the baseline profile is stored, only the window is binned and scored.
x = np.fromfile(path, dtype=np.float64)
bs = np.sort(x[:n_base][~np.isnan(x[:n_base])])
edges = np.unique(np.quantile(bs, np.linspace(0, 1, 6)))
k = max(len(edges) - 1, 1)
pb = np.bincount(np.searchsorted(edges, bs, side="right").clip(0, k), minlength=k + 2) / len(bs)
times = []
for _ in range(repeat):
    t0 = time.perf_counter()
    w = x[n_base:]
    i = np.searchsorted(edges, w, side="right")
    i = np.where(w == edges[-1], k, i)
    i = np.where(w > edges[-1], k + 1, i)
    i = np.where(np.isnan(w), 0, i)
    pw = np.bincount(i, minlength=k + 2) / len(w)
    sb, sw = np.where(pb == 0, eps, pb), np.where(pw == 0, eps, pw)
    psi = float(((sw - sb) * np.log(sw / sb)).sum())
    times.append(time.perf_counter() - t0)
res["window"] = {"compute_s": sorted(times)[len(times) // 2], "with_load_s": None, "result": {"psi": psi}}
for with_ks in (False, True):
    compute, total = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        x = np.fromfile(path, dtype=np.float64)
        t1 = time.perf_counter()
        out = assay(x, with_ks)
        t2 = time.perf_counter()
        compute.append(t2 - t1); total.append(t2 - t0)
    res["ks" if with_ks else "psi"] = {"compute_s": sorted(compute)[len(compute) // 2], "with_load_s": sorted(total)[len(total) // 2], "result": out}
print(json.dumps(res))
`;

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-bench-assay-'));
  try {
    log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, node ${process.version}; ${ROWS.toLocaleString('en')} rows`);
    let platform = await openPlatform({ dataDir, database });
    await platform.registry.upload(DEFAULT_WORKSPACE_ID, 'bc', fs.readFileSync(path.join(ROOT, 'testdata/models/breast_cancer_logreg.onnx')));
    await platform.pipelines.create(DEFAULT_WORKSPACE_ID, 'bc', { steps: [{ model: 'bc' }] });
    const pipelineId = await platform.pipelines.pipelineId(DEFAULT_WORKSPACE_ID, 'bc');
    await platform.close();

    // Fill the log through its writer, 1,000-row requests, one request per second of log time:
    // out.probabilities[1] drifting upward after the baseline.
    const t0 = Date.UTC(2026, 0, 1);
    const fill = performance.now();
    platform = await openPlatform({ dataDir, database });
    const rand = rng(42);
    const column = new Float64Array(ROWS);
    const nBase = Math.floor(ROWS * BASELINE_SHARE);
    const REQUEST = 1000;
    for (let at = 0; at < ROWS; at += REQUEST) {
      const n = Math.min(REQUEST, ROWS - at);
      const input = new Float32Array(n * 4);
      const label = new BigInt64Array(n);
      const probabilities = new Float32Array(n * 2);
      for (let j = 0; j < n; j++) {
        const i = at + j;
        const x = rand();
        const p1 = Math.fround(i < nBase ? x ** 2 : x ** 1.6); // float32, as the model answers
        column[i] = p1;
        input.set([10 + 10 * rand(), 20 * rand(), 100 * rand(), 1000 * rand()], j * 4);
        label[j] = p1 > 0.5 ? 1n : 0n;
        probabilities[j * 2] = 1 - p1;
        probabilities[j * 2 + 1] = p1;
      }
      platform.logs.append({
        workspaceId: DEFAULT_WORKSPACE_ID, pipelineId, pipelineVersion: 1, time: t0 + at, trace: [{ models: [{ name: 'bc', version: 1 }] as never }],
        anomalies: [], latencyMs: 0.2, metadata: {},
        inputs: [{ name: 'input', datatype: 'FP32', shape: [n, 4], data: input }],
        outputs: [{ name: 'label', datatype: 'INT64', shape: [n], data: label }, { name: 'probabilities', datatype: 'FP32', shape: [n, 2], data: probabilities }],
      });
      if ((at / REQUEST) % 100 === 99) await platform.logs.flush();
    }
    await platform.close();
    log(`filled ${ROWS.toLocaleString('en')} rows through the log writer in ${((performance.now() - fill) / 1000).toFixed(1)} s (${database ? 'PostgreSQL' : `${(fs.statSync(path.join(dataDir, 'bettong.sqlite')).size / 2 ** 20).toFixed(0)} MiB + WAL`})`);

    platform = await openPlatform({ dataDir, database });
    const def = (metric: 'psi' | 'ks') => ({
      pipeline: 'bc', target: { column: 'out.probabilities', index: 1 }, metric,
      baseline: { start: t0, end: t0 + nBase }, window: { start: t0 + nBase, width: ROWS - nBase }, end: t0 + ROWS,
    });
    const timed: Record<string, { s: number; score: number | null; pvalue?: number }> = {};
    for (const metric of ['psi', 'ks'] as const) {
      const times: number[] = [];
      // One untimed run first: a server's assays run warm (compiled code), as numpy's do (no import, no load in its time).
      let last = await platform.assays.preview(DEFAULT_WORKSPACE_ID, def(metric));
      for (let r = 0; r < REPEAT; r++) {
        const start = performance.now();
        last = await platform.assays.preview(DEFAULT_WORKSPACE_ID, def(metric));
        times.push((performance.now() - start) / 1000);
      }
      const w = last!.windows[0];
      if (w.count !== ROWS - nBase) throw new Error(`window has ${w.count} rows, want ${ROWS - nBase}`);
      timed[metric] = { s: median(times), score: w.score, pvalue: w.pvalue };
      log(`bettong ${metric}: ${times.map((t) => t.toFixed(3)).join(', ')} s; score ${w.score}${w.pvalue !== undefined ? `, p ${w.pvalue}` : ''}`);
    }
    // A saved assay's scheduled run: profile stored, only the window is binned in SQL and scored.
    {
      const versions = await platform.pipelines.versions(DEFAULT_WORKSPACE_ID, 'bc');
      const col = resolveColumn(versions, 'out.probabilities', [1]);
      const p = await platform.assays.preview(DEFAULT_WORKSPACE_ID, def('psi'));
      const times: number[] = [];
      // Memory the window pass adds (sampled): bounded by a batch of segments, whatever the row count.
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      let rssMax = rss0;
      const sampler = setInterval(() => { rssMax = Math.max(rssMax, process.memoryUsage().rss); }, 5);
      for (let r = 0; r < REPEAT; r++) {
        const start = performance.now();
        const w = await numericWindow(platform.db, pipelineId, col, p.baseline.edges!, t0 + nBase, t0 + ROWS);
        const pw = proportions(w.counts);
        timed.window = { s: 0, score: psi(p.baseline.proportions, pw).score };
        times.push((performance.now() - start) / 1000);
      }
      clearInterval(sampler);
      timed.window.s = median(times);
      log(`bettong window only: ${times.map((t) => t.toFixed(3)).join(', ')} s; RSS grew by at most ${((rssMax - rss0) / 2 ** 20).toFixed(0)} MiB while binning ${(ROWS - nBase).toLocaleString('en')} rows`);
    }
    // The export for numpy: the same values, read back out of the store once.
    const versions = await platform.pipelines.versions(DEFAULT_WORKSPACE_ID, 'bc');
    const exported = await numericValues(platform.db, pipelineId, resolveColumn(versions, 'out.probabilities', [1]), t0, t0 + ROWS);
    await platform.close();
    log(`peak RSS of the bettong side: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
    for (let i = 0; i < ROWS; i++) if (exported[i] !== column[i]) throw new Error(`exported value ${i} differs`);
    const file = path.join(dataDir, 'column.f64');
    fs.writeFileSync(file, Buffer.from(exported.buffer, exported.byteOffset, exported.byteLength));

    let numpy: Record<string, { compute_s: number; with_load_s: number; result: Record<string, number | number[]> }> | undefined;
    if (fs.existsSync(PYTHON)) {
      const env = { ...process.env };
      delete env.OPENBLAS_CORETYPE; // only slows a current numpy; no BLAS kernel is used here
      delete env.OPENBLAS_L2_SIZE;
      const py = spawnSync(PYTHON, ['-c', NUMPY, file, String(nBase), String(REPEAT), ''], { encoding: 'utf8', env });
      if (py.status !== 0) throw new Error(`numpy side failed: ${py.stderr}`);
      numpy = JSON.parse(py.stdout);
      const diff = Math.abs((numpy!.psi.result.psi as number) - (timed.psi.score as number));
      if (diff > 1e-9) throw new Error(`PSI differs from numpy's: ${timed.psi.score} vs ${numpy!.psi.result.psi}`);
      if (Math.abs((numpy!.window.result.psi as number) - (timed.window.score as number)) > 1e-9) throw new Error('window-only PSI differs from numpy\'s');
      const ks = numpy!.ks.result.ks as number[];
      if (Math.abs(ks[0] - (timed.ks.score as number)) > 1e-12) throw new Error(`KS statistic differs from scipy's: ${timed.ks.score} vs ${ks[0]}`);
    } else {
      log(`no ${PYTHON}: numpy columns skipped (pip install -r testdata/drift/requirements.txt into .venv)`);
    }

    console.log(`rows: ${ROWS.toLocaleString('en')} (baseline ${nBase.toLocaleString('en')}, window ${(ROWS - nBase).toLocaleString('en')}), target out.probabilities[1], median of ${REPEAT}`);
    console.log('assay                   bettong s  numpy s (in memory)  numpy s (with file load)  x numpy (in memory)  x numpy (with load)');
    for (const metric of ['psi', 'ks', 'window'] as const) {
      const b = timed[metric].s;
      const n = numpy?.[metric];
      console.log([
        (metric === 'window' ? 'psi, window only' : `${metric}, preview`).padEnd(22), b.toFixed(3).padStart(9), (n ? n.compute_s.toFixed(3) : '-').padStart(20), (n && metric !== 'window' ? n.with_load_s.toFixed(3) : '-').padStart(25),
        (n ? (b / n.compute_s).toFixed(1) : '-').padStart(20), (n && metric !== 'window' ? (b / n.with_load_s).toFixed(1) : '-').padStart(20),
      ].join('  '));
    }
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
