/**
 * The joined rows of a window: every logged prediction in [start, end) with its key, the models
 * that answered it (the A/B arm), the shadow challengers' predictions, and the current label for
 * its key when one has arrived. Labels are looked up by key at read time, so a label uploaded
 * before its prediction was logged joins as soon as the prediction is.
 */
import type { SegmentHead } from '../../logs/read.ts';
import { headColumns, loadSegment } from '../../logs/read.ts';
import { type StoredColumn, rowValue } from '../../logs/segments.ts';
import type { DB } from '../../store/index.ts';
import type { ResolvedMonitor } from './definition.ts';
import type { FeedbackService } from './feedback.ts';
import { rowKey } from './keys.ts';

export interface Prediction {
  /** The predicted value: category text (classification) or a number (regression); null when missing. */
  value: string | number | null;
  /** Class probabilities, when the monitor reads them. */
  probabilities: number[] | null;
}

export interface JoinedRow {
  time: number;
  key: string | null;
  /** "model:version -> model:version", as compare names arms. */
  arm: string;
  answer: Prediction;
  /** challenger -> its prediction (shadow steps). */
  shadows: Map<string, Prediction>;
  /** The label (null: none yet, or not a usable value). */
  label: string | number | null;
}

const flat = (v: unknown): unknown[] => (Array.isArray(v) ? v.flat(Infinity) : [v]);

function element(v: unknown, index: number[] | null): unknown {
  if (!index) return Array.isArray(v) && v.flat(Infinity).length === 1 ? v.flat(Infinity)[0] : v;
  for (const k of index) v = Array.isArray(v) ? v[k] : undefined;
  return v;
}

/** A label or prediction as the task needs it: category text, or a finite number. */
export function asValue(v: unknown, task: ResolvedMonitor['task']): string | number | null {
  if (v === undefined || v === null || (typeof v === 'object')) return null;
  if (task === 'regression') {
    const x = typeof v === 'boolean' ? Number(v) : Number(v);
    return typeof v !== 'string' || v.trim() !== '' ? (Number.isFinite(x) ? x : null) : null;
  }
  if (typeof v === 'boolean') return v ? '1' : '0'; // a BOOL output and 0/1 labels are the same classes
  if (typeof v === 'number' && !Number.isFinite(v)) return null;
  return String(v);
}

function prediction(def: ResolvedMonitor, cols: { value?: StoredColumn; probabilities?: StoredColumn }, i: number): Prediction {
  const value = cols.value ? asValue(element(rowValue(cols.value, i), def.prediction.index), def.task) : null;
  let probabilities: number[] | null = null;
  if (cols.probabilities) {
    const p = flat(rowValue(cols.probabilities, i));
    probabilities = p.every((x) => typeof x === 'number' && Number.isFinite(x)) ? (p as number[]) : null;
  }
  return { value, probabilities };
}

/** Every logged row of the pipeline in [start, end), joined to its current label. */
export async function joinedRows(db: DB, feedback: FeedbackService, pipelineId: number, def: ResolvedMonitor, start: number, end: number): Promise<JoinedRow[]> {
  const heads = await db.selectFrom('inference_log_segments').select(headColumns).where('pipeline_id', '=', pipelineId)
    .where('time_max', '>=', start).where('time_min', '<', end).orderBy('time_min').orderBy('id').execute() as SegmentHead[];
  const rows: JoinedRow[] = [];
  const valueName = def.prediction.column;
  const probName = def.probabilities?.column;
  const outOf = (c: string) => c.slice(c.indexOf('.') + 1);
  for (const head of heads) {
    const seg = await loadSegment(db, head);
    const byName = new Map(seg.values.map((c) => [c.spec.name, c]));
    const answer = { value: byName.get(valueName), probabilities: probName ? byName.get(probName) : undefined };
    // shadow.<challenger>.<output>: the challenger's own prediction and probabilities
    const challengers = new Map<string, { value?: StoredColumn; probabilities?: StoredColumn }>();
    for (const c of seg.values) {
      const m = /^shadow\.(.+)\.([^.]+)$/.exec(c.spec.name);
      if (!m || m[2] === 'error') continue;
      const entry = challengers.get(m[1]) ?? {};
      if (valueName.startsWith('out.') && m[2] === outOf(valueName)) entry.value = c;
      if (probName && m[2] === outOf(probName)) entry.probabilities = c;
      challengers.set(m[1], entry);
    }
    for (let i = 0; i < seg.rows; i++) {
      const t = seg.time[i];
      if (t < start || t >= end) continue;
      const shadows = new Map<string, Prediction>();
      for (const [name, cols] of challengers) if (cols.value) shadows.set(name, prediction(def, cols, i));
      rows.push({
        time: t, key: rowKey(def.key, seg, i),
        arm: (seg.modelsOf(i) as { name: string; version: number }[]).map((x) => `${x.name}:${x.version}`).join(' -> '),
        answer: prediction(def, answer, i), shadows, label: null,
      });
    }
  }
  const labels = await feedback.current(pipelineId, rows.flatMap((r) => (r.key === null ? [] : [r.key])));
  for (const r of rows) {
    const l = r.key === null ? undefined : labels.get(r.key);
    if (l && def.label in l.labels) r.label = asValue(l.labels[def.label], def.task);
  }
  return rows;
}
