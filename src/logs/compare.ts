/**
 * Comparing the arms of an experiment from the logs: rows grouped by the models that
 * answered (and, for shadow challengers, by challenger), each with row count, output
 * distribution summaries, latency percentiles and the validation failure rate.
 */
import { fail } from '../errors/index.ts';
import type { DB } from '../store/index.ts';
import { type SegmentHead, headColumns, loadSegment } from './read.ts';
import { rowValue } from './segments.ts';

export interface Summary {
  count: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  p25: number | null;
  p50: number | null;
  p75: number | null;
  max: number | null;
}

export interface CompareGroup {
  /** "answer" for the models that answered; "shadow" for a challenger's logged outputs. */
  role: 'answer' | 'shadow';
  /** e.g. "scaler:1 -> control:2" for answers, "challenger:1" for a shadow. */
  models: string;
  pipeline_versions: number[];
  rows: number;
  /** output column (element-wise for tensors: "probabilities[1]") -> summary */
  outputs: Record<string, Summary>;
  /** per request, in ms; null for shadows (they never delay the answer) */
  latency_ms: { p50: number; p95: number; p99: number } | null;
  /** share of rows that broke at least one validation */
  validation_failure_rate: number | null;
  /** shadows: rows where the challenger failed */
  errors?: number;
}

/** At most this many elements of a tensor output are summarized. */
const MAX_ELEMENTS = 16;

function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function summarize(values: number[]): Summary {
  const v = Float64Array.from(values.filter(Number.isFinite)).sort();
  if (v.length === 0) return { count: 0, mean: null, std: null, min: null, p25: null, p50: null, p75: null, max: null };
  let sum = 0;
  for (const x of v) sum += x;
  const mean = sum / v.length;
  let ss = 0;
  for (const x of v) ss += (x - mean) ** 2;
  return {
    count: v.length, mean, std: Math.sqrt(ss / v.length), min: v[0],
    p25: quantile(v, 0.25), p50: quantile(v, 0.5), p75: quantile(v, 0.75), max: v[v.length - 1],
  };
}

class Group {
  rows = 0;
  broken = 0;
  errors = 0;
  latencies: number[] = [];
  versions = new Set<number>();
  values = new Map<string, number[]>();

  add(outputs: Record<string, unknown>): void {
    for (const [name, v] of Object.entries(outputs)) {
      if (typeof v === 'number' || typeof v === 'boolean') this.push(name, Number(v));
      else if (Array.isArray(v)) {
        const flat = v.flat(Infinity).slice(0, MAX_ELEMENTS);
        flat.forEach((x, i) => typeof x === 'number' && this.push(`${name}[${i}]`, x));
      }
    }
  }

  private push(k: string, x: number): void {
    let list = this.values.get(k);
    if (!list) this.values.set(k, (list = []));
    list.push(x);
  }
}

export async function compare(db: DB, pipelineId: number, range: { start?: number; end?: number }): Promise<CompareGroup[]> {
  for (const k of ['start', 'end'] as const) {
    if (range[k] !== undefined && !Number.isFinite(range[k])) fail('INVALID_REQUEST', `'${k}' must be a time (epoch ms or ISO 8601)`);
  }
  let q = db.selectFrom('inference_log_segments').select(headColumns).where('pipeline_id', '=', pipelineId);
  if (range.start !== undefined) q = q.where('time_max', '>=', range.start);
  if (range.end !== undefined) q = q.where('time_min', '<', range.end);
  const start = range.start ?? -Infinity;
  const end = range.end ?? Infinity;

  const answers = new Map<string, Group>();
  const shadows = new Map<string, Group>();
  const group = (m: Map<string, Group>, k: string) => m.get(k) ?? m.set(k, new Group()).get(k)!;
  // Segment by segment (one in memory at a time): their headers are small, their columns are not.
  for (const head of await q.orderBy('id').execute() as SegmentHead[]) {
    const seg = await loadSegment(db, head);
    const outs = seg.values.filter((c) => c.spec.name.startsWith('out.')).map((c) => [c.spec.name.slice(4), c] as const);
    const challengers = new Map<string, [string, (typeof seg.values)[number]][]>();
    for (const c of seg.values) {
      const m = /^shadow\.(.+)\.([^.]+)$/.exec(c.spec.name);
      if (m) challengers.set(m[1], [...(challengers.get(m[1]) ?? []), [m[2], c]]);
    }
    // Latency is per request: count it once per request, not once per row.
    const seen = new Set<string>();
    for (let i = 0; i < seg.rows; i++) {
      if (seg.time[i] < start || seg.time[i] >= end) continue;
      const models = (seg.modelsOf(i) as { name: string; version: number }[]).map((x) => `${x.name}:${x.version}`).join(' -> ');
      const g = group(answers, models);
      g.rows++;
      g.versions.add(head.pipeline_version);
      if (seg.anomalies(i).length > 0) g.broken++;
      g.add(Object.fromEntries(outs.map(([name, c]) => [name, rowValue(c, i)])));
      const r = seg.request(i);
      const reqKey = `${r.index}|${models}`;
      if (!r.requestId || !seen.has(reqKey)) {
        g.latencies.push(r.latencyMs);
        seen.add(reqKey);
      }
      for (const [model, cols] of challengers) {
        const s = group(shadows, model);
        s.rows++;
        s.versions.add(head.pipeline_version);
        if (cols.length === 1 && cols[0][0] === 'error') s.errors++;
        else s.add(Object.fromEntries(cols.map(([name, c]) => [name, rowValue(c, i)])));
      }
    }
  }
  const finish = (role: 'answer' | 'shadow', models: string, g: Group): CompareGroup => {
    const lat = Float64Array.from(g.latencies).sort();
    return {
      role, models, pipeline_versions: [...g.versions].sort((a, b) => a - b), rows: g.rows,
      outputs: Object.fromEntries([...g.values].map(([k, v]) => [k, summarize(v)])),
      latency_ms: role === 'answer' && lat.length ? { p50: quantile(lat, 0.5), p95: quantile(lat, 0.95), p99: quantile(lat, 0.99) } : null,
      validation_failure_rate: role === 'answer' ? g.broken / g.rows : null,
      ...(role === 'shadow' ? { errors: g.errors } : {}),
    };
  };
  return [
    ...[...answers].map(([k, g]) => finish('answer', k, g)),
    ...[...shadows].map(([k, g]) => finish('shadow', k, g)),
  ];
}
