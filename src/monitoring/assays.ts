/**
 * The assay service: previews (unsaved), saved assays (create, list, get, pause, resume, delete),
 * running one window of a saved assay (for the scheduler), and reading results and alert
 * deliveries back.
 */
import { fail } from '../errors/index.ts';
import type { InferenceLogWriter } from '../logs/writer.ts';
import type { PipelineService } from '../pipelines/index.ts';
import { checkName } from '../registry/index.ts';
import type { DB } from '../store/index.ts';
import type { AssayTable } from '../store/schema.ts';
import type { Selectable } from 'kysely';
import type { AssayDefinition, ResolvedDefinition } from './definition.ts';
import { SAMPLE_METRICS, resolveDefinition } from './definition.ts';
import { formatDuration, parseTime } from '../time/index.ts';
import { checkWebhookTarget } from './webhooks.ts';
import {
  type BaselineProfile, asCategoryCounts, asNumbers, blobToSample, categoricalProfile, numericProfile, sampleToBlob, staticValues,
} from './profile.ts';
import { type WindowResult, scoreWindow } from './score.ts';
import { withoutNaN } from './selection.ts';
import { type ColumnRef, categoricalWindow, distinctValues, logSpan, numericValues, numericWindow, resolveColumn } from './source.ts';
import { type Window, type WindowGrid, firstEndingAfter, newestComplete, windowAt, windowsIn } from './windows.ts';

export const MAX_PREVIEW_WINDOWS = 1000;
/** A saved assay whose start lies far in the past runs at most this many past windows. */
export const MAX_BACKFILL_WINDOWS = 1000;

type AssayRow = Selectable<AssayTable> & { pipeline: string };

/** What is stored: the resolved definition and the column it reads. */
interface StoredDefinition extends ResolvedDefinition {
  column: ColumnRef;
}

/** Everything needed to compute a window: no baseline data is read again. */
interface Prepared {
  pipelineId: number;
  def: StoredDefinition;
  profile: BaselineProfile;
  sample: Float64Array;
}


export interface BaselineView {
  source: BaselineProfile['source'];
  kind: BaselineProfile['kind'];
  labels: string[];
  edges?: number[];
  categories?: (string | number)[];
  counts: number[];
  proportions: number[];
  summary: BaselineProfile['summary'];
  /** Present when fewer bins are used than asked (ties in the baseline), and why. */
  note?: string;
}

export interface PreviewResult {
  pipeline: string;
  target: string;
  definition: ResolvedDefinition;
  baseline: BaselineView;
  windows: WindowResult[];
}

export interface AssayInfo {
  id: number;
  name: string;
  pipeline: string;
  target: string;
  metric: string;
  state: 'active' | 'paused';
  window: { width: string; interval: string; start: number };
  definition: ResolvedDefinition;
  baseline: BaselineView;
  /** The window the scheduler runs next. */
  next_window: Window;
  last_result: { window: Window; score: number | null; status: string } | null;
  created_at: string;
}

export interface StoredResult extends WindowResult {
  id: number;
  assay: string;
  created_at: string;
}

export interface AlertDelivery {
  id: number;
  assay: string;
  result_id: number;
  url: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  http_status: number | null;
  last_error: string | null;
  payload: unknown;
  created_at: string;
  updated_at: string;
}

export type PreviewRequest = AssayDefinition & { start?: number | string; end?: number | string };

function baselineView(p: BaselineProfile): BaselineView {
  const b = p.binning;
  return {
    source: p.source, kind: p.kind, labels: b.labels,
    ...(b.kind === 'numeric' ? { edges: b.edges } : { categories: b.categories }),
    counts: p.counts, proportions: p.proportions, summary: p.summary,
    ...(b.kind === 'numeric' && b.note ? { note: b.note } : {}),
  };
}

/** The resolved definition as shown to users (no column internals). */
const publicDefinition = ({ column: _c, ...d }: StoredDefinition): ResolvedDefinition => d;

export class AssayService {
  /** Called after a saved assay is created, resumed or deleted: the scheduler re-plans. */
  onChange: () => void = () => {};

  constructor(
    private readonly db: DB,
    private readonly pipelines: PipelineService,
    private readonly logs: InferenceLogWriter,
    private readonly now: () => number = Date.now,
    /** Webhooks to private, loopback and link-local addresses are refused unless this is set (webhooks.ts). */
    private readonly allowPrivateWebhooks = false,
  ) {}

  /** Checks a definition against the pipeline and builds the baseline profile. */
  private async prepare(workspaceId: number, d: AssayDefinition): Promise<Prepared> {
    const resolved = resolveDefinition(d, this.now());
    const pipelineId = await this.pipelines.pipelineId(workspaceId, resolved.pipeline);
    const versions = await this.pipelines.versions(workspaceId, resolved.pipeline);
    const column = resolveColumn(versions, resolved.target.column, resolved.target.index);
    if (d.target.kind === undefined && column.datatype === 'BYTES') resolved.target.kind = 'categorical';
    if (resolved.target.kind === 'categorical') {
      if (SAMPLE_METRICS.includes(resolved.metric)) fail('INVALID_ASSAY', `metric '${resolved.metric}' needs a numeric target; '${column.label}' is categorical`);
      resolved.binning = { mode: resolved.binning.mode, bins: null, edges: null };
    }
    const def: StoredDefinition = { ...resolved, column };
    const categorical = resolved.target.kind === 'categorical';
    let profile: BaselineProfile;
    let sample: Float64Array = new Float64Array(0);
    if (resolved.baseline.kind === 'logs') {
      const { start, end } = resolved.baseline;
      await this.logs.flush();
      if (categorical) {
        const counts = await distinctValues(this.db, pipelineId, column, start, end);
        if (counts.size === 0) fail('BASELINE_TOO_SMALL', `pipeline '${resolved.pipeline}' has no inference logs between ${iso(start)} and ${iso(end)} for the baseline`);
        profile = categoricalProfile(counts, 'logs');
      } else {
        const values = await numericValues(this.db, pipelineId, column, start, end);
        if (values.length === 0) fail('BASELINE_TOO_SMALL', `pipeline '${resolved.pipeline}' has no inference logs between ${iso(start)} and ${iso(end)} for the baseline`);
        ({ profile, sample } = numericProfile(values, resolved, 'logs'));
      }
    } else {
      const values = staticValues(d.baseline as never);
      const source = resolved.baseline.kind;
      resolved.baseline.count = values.length;
      if (categorical) profile = categoricalProfile(asCategoryCounts(values), source);
      else ({ profile, sample } = numericProfile(asNumbers(values), resolved, source));
    }
    return { pipelineId, def, profile, sample };
  }

  /** One window of a prepared assay, computed in the store. */
  private async compute(p: Prepared, w: Window): Promise<WindowResult> {
    const { def, profile } = p;
    if (profile.binning.kind === 'categorical') {
      const counts = await categoricalWindow(this.db, p.pipelineId, def.column, profile.binning.categories, w.start, w.end);
      const count = counts.reduce((s, x) => s + x, 0);
      return scoreWindow(def, profile, w, counts, { count, missing_count: counts[0], categories: profile.binning.categories.length });
    }
    const { counts, summary } = await numericWindow(this.db, p.pipelineId, def.column, profile.binning.edges, w.start, w.end);
    let samples;
    if (SAMPLE_METRICS.includes(def.metric)) {
      const values = await numericValues(this.db, p.pipelineId, def.column, w.start, w.end);
      samples = { baseline: p.sample, window: withoutNaN(values).sort() };
    }
    return scoreWindow(def, profile, w, counts, summary, samples);
  }

  /** Runs a definition over past windows without saving anything. */
  async preview(workspaceId: number, req: PreviewRequest): Promise<PreviewResult> {
    const p = await this.prepare(workspaceId, req);
    await this.logs.flush();
    const span = await logSpan(this.db, p.pipelineId);
    const from = req.start !== undefined ? parseTime(req.start, 'start', 'INVALID_ASSAY') : req.window.start !== undefined ? p.def.window.start : span.first;
    const to = req.end !== undefined ? parseTime(req.end, 'end', 'INVALID_ASSAY') : span.last === null ? null : span.last + 1;
    if (from === null || to === null) return fail('WINDOW_TOO_WIDE', `pipeline '${p.def.pipeline}' has no inference logs to preview over; give 'start' and 'end'`);
    if (!(to > from)) fail('INVALID_ASSAY', `'end' must be after 'start'`);
    const grid: WindowGrid = { ...p.def.window, start: req.window.start !== undefined ? p.def.window.start : from };
    if (p.def.window.width > to - from) {
      fail('WINDOW_TOO_WIDE', `the window (${formatDuration(p.def.window.width)}) is wider than the data to preview: ${formatDuration(to - from)} from ${iso(from)} to ${iso(to)}`);
    }
    const windows = windowsIn(grid, from, to);
    if (windows.length === 0) fail('WINDOW_TOO_WIDE', `no whole window of ${formatDuration(p.def.window.width)} fits between ${iso(from)} and ${iso(to)}`);
    if (windows.length > MAX_PREVIEW_WINDOWS) {
      fail('INVALID_ASSAY', `the preview would compute ${windows.length} windows; at most ${MAX_PREVIEW_WINDOWS}: narrow 'start'/'end' or widen 'window.interval'`);
    }
    const results: WindowResult[] = [];
    for (const w of windows) results.push(await this.compute(p, w));
    return { pipeline: p.def.pipeline, target: p.def.column.label, definition: publicDefinition(p.def), baseline: baselineView(p.profile), windows: results };
  }

  async create(workspaceId: number, name: string, d: AssayDefinition): Promise<AssayInfo> {
    checkName('assay', name);
    const existing = await this.db.selectFrom('assays').select('id').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
    if (existing) fail('ASSAY_EXISTS', `assay '${name}' already exists; delete it first or pick another name`);
    const p = await this.prepare(workspaceId, d);
    if (p.def.alert) checkWebhookTarget(new URL(p.def.alert.webhook), this.allowPrivateWebhooks);
    const now = this.now();
    const newest = newestComplete(p.def.window, now);
    const next = Math.max(0, newest + 1 - MAX_BACKFILL_WINDOWS);
    try {
      await this.db.insertInto('assays').values({
        workspace_id: workspaceId, pipeline_id: p.pipelineId, name, definition: JSON.stringify(p.def), profile: JSON.stringify(p.profile),
        // the sorted baseline values are kept only for the metrics that need the sample (KS, Wasserstein)
        baseline_sample: SAMPLE_METRICS.includes(p.def.metric) && p.sample.length > 0 ? sampleToBlob(p.sample) : null, state: 'active', next_window: next, created_at: now, updated_at: now,
      }).execute();
    } catch (e) {
      if (/UNIQUE|unique constraint/.test((e as Error).message)) fail('ASSAY_EXISTS', `assay '${name}' already exists`);
      throw e;
    }
    this.onChange();
    return this.get(workspaceId, name);
  }

  private async row(workspaceId: number, name: string): Promise<AssayRow> {
    const r = await this.db.selectFrom('assays as a').innerJoin('pipelines as p', 'p.id', 'a.pipeline_id').selectAll('a').select('p.name as pipeline')
      .where('a.workspace_id', '=', workspaceId).where('a.name', '=', name).executeTakeFirst();
    return r ?? fail('ASSAY_NOT_FOUND', `assay '${name}' not found`);
  }

  private async info(r: AssayRow): Promise<AssayInfo> {
    const def = JSON.parse(r.definition) as StoredDefinition;
    const profile = JSON.parse(r.profile) as BaselineProfile;
    const last = await this.db.selectFrom('assay_results').select(['window_index', 'window_start', 'window_end', 'score', 'status'])
      .where('assay_id', '=', r.id).orderBy('window_start', 'desc').limit(1).executeTakeFirst();
    return {
      id: r.id, name: r.name, pipeline: r.pipeline, target: def.column.label, metric: def.metric, state: r.state as AssayInfo['state'],
      window: { width: formatDuration(def.window.width), interval: formatDuration(def.window.interval), start: def.window.start },
      definition: publicDefinition(def), baseline: baselineView(profile), next_window: windowAt(def.window, r.next_window),
      last_result: last ? { window: { index: last.window_index, start: Number(last.window_start), end: Number(last.window_end) }, score: last.score, status: last.status } : null,
      created_at: iso(Number(r.created_at)),
    };
  }

  async get(workspaceId: number, name: string): Promise<AssayInfo> {
    return this.info(await this.row(workspaceId, name));
  }

  async list(workspaceId: number): Promise<AssayInfo[]> {
    const rows = await this.db.selectFrom('assays as a').innerJoin('pipelines as p', 'p.id', 'a.pipeline_id').selectAll('a').select('p.name as pipeline')
      .where('a.workspace_id', '=', workspaceId).orderBy('a.name').execute();
    return Promise.all(rows.map((r) => this.info(r)));
  }

  async pause(workspaceId: number, name: string): Promise<AssayInfo> {
    const r = await this.row(workspaceId, name);
    await this.db.updateTable('assays').set({ state: 'paused', updated_at: this.now() }).where('id', '=', r.id).execute();
    this.onChange();
    return this.get(workspaceId, name);
  }

  /** Resumes with the first window that ends after now: windows that ended while paused are skipped. */
  async resume(workspaceId: number, name: string): Promise<AssayInfo> {
    const r = await this.row(workspaceId, name);
    if (r.state !== 'active') {
      const def = JSON.parse(r.definition) as StoredDefinition;
      const next = Math.max(r.next_window, firstEndingAfter(def.window, this.now()));
      await this.db.updateTable('assays').set({ state: 'active', next_window: next, updated_at: this.now() }).where('id', '=', r.id).execute();
    }
    this.onChange();
    return this.get(workspaceId, name);
  }

  async delete(workspaceId: number, name: string): Promise<{ deleted: string }> {
    const r = await this.row(workspaceId, name);
    await this.db.deleteFrom('assays').where('id', '=', r.id).execute();
    this.onChange();
    return { deleted: name };
  }

  /** Stored results, chronological; `start`/`end` bound the window starts. */
  async results(workspaceId: number, name: string, q: { start?: number; end?: number; limit?: number } = {}): Promise<StoredResult[]> {
    const r = await this.row(workspaceId, name);
    const limit = q.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) fail('INVALID_REQUEST', `'limit' must be an integer in [1, 10000]`);
    for (const k of ['start', 'end'] as const) if (q[k] !== undefined && !Number.isFinite(q[k])) fail('INVALID_REQUEST', `'${k}' must be a time (epoch ms or ISO 8601)`);
    let query = this.db.selectFrom('assay_results').select(['id', 'result', 'created_at']).where('assay_id', '=', r.id);
    if (q.start !== undefined) query = query.where('window_start', '>=', q.start);
    if (q.end !== undefined) query = query.where('window_start', '<', q.end);
    const rows = await query.orderBy('window_start').limit(limit).execute();
    return rows.map((x) => ({ id: x.id, assay: name, ...(JSON.parse(x.result) as WindowResult), created_at: iso(Number(x.created_at)) }));
  }

  async alerts(workspaceId: number, name: string): Promise<AlertDelivery[]> {
    const r = await this.row(workspaceId, name);
    const rows = await this.db.selectFrom('assay_alerts').selectAll().where('assay_id', '=', r.id).orderBy('id').execute();
    return rows.map((a) => ({
      id: a.id, assay: name, result_id: a.result_id, url: a.url, status: a.status as AlertDelivery['status'], attempts: a.attempts,
      http_status: a.http_status, last_error: a.last_error, payload: JSON.parse(a.payload), created_at: iso(Number(a.created_at)), updated_at: iso(Number(a.updated_at)),
    }));
  }

  // ---- for the scheduler ----

  /** Active assays: id, grid and the next window's index. */
  async active(): Promise<{ id: number; grid: WindowGrid; next: number }[]> {
    const rows = await this.db.selectFrom('assays').select(['id', 'definition', 'next_window']).where('state', '=', 'active').execute();
    return rows.map((r) => ({ id: r.id, grid: (JSON.parse(r.definition) as StoredDefinition).window, next: r.next_window }));
  }

  /**
   * Computes window `index` of assay `id` and stores it, moving the assay's next window on and
   * recording its alert's delivery (when it alerts), in one transaction. A window already stored (or an assay paused or deleted meanwhile) is left alone.
   */
  async runWindow(id: number, index: number): Promise<{ result: StoredResult; alert: { id: number; url: string; payload: string } | null } | null> {
    const r = await this.db.selectFrom('assays as a').innerJoin('pipelines as p', 'p.id', 'a.pipeline_id').selectAll('a').select('p.name as pipeline')
      .where('a.id', '=', id).executeTakeFirst();
    if (!r || r.state !== 'active' || r.next_window !== index) return null;
    const def = JSON.parse(r.definition) as StoredDefinition;
    const prepared: Prepared = { pipelineId: r.pipeline_id, def, profile: JSON.parse(r.profile), sample: blobToSample(r.baseline_sample) };
    const w = windowAt(def.window, index);
    await this.logs.flush();
    const result = await this.compute(prepared, w);
    const now = this.now();
    const a = def.alert;
    const fire = a && (result.status === 'alert' || (result.status === 'warning' && a.on === 'warning'));
    const payloadOf = (resultId: number) => ({
      event: `assay.${result.status}`, assay: r.name, pipeline: r.pipeline, target: def.column.label, metric: def.metric,
      score: result.score, ...(result.pvalue !== undefined ? { pvalue: result.pvalue } : {}), status: result.status,
      thresholds: def.thresholds, window: { start: iso(w.start), end: iso(w.end), start_ms: w.start, end_ms: w.end, index }, count: result.count,
      result_id: resultId, results_path: `/v1/assays/${encodeURIComponent(r.name)}/results?start=${w.start}&end=${w.start + 1}`,
    });
    // The result, the move to the next window and the alert's delivery row commit together: a server
    // that dies after the commit leaves the delivery pending for a survivor, never unrecorded.
    const stored = await this.db.transaction().execute(async (tx) => {
      const moved = await tx.updateTable('assays').set({ next_window: index + 1, updated_at: now })
        .where('id', '=', id).where('next_window', '=', index).where('state', '=', 'active').executeTakeFirst();
      if (Number(moved.numUpdatedRows) !== 1) return null;
      const row = await tx.insertInto('assay_results').values({
        assay_id: id, window_index: index, window_start: w.start, window_end: w.end, count: result.count, score: result.score,
        status: result.status, result: JSON.stringify(result), created_at: now,
      }).onConflict((oc) => oc.columns(['assay_id', 'window_start']).doNothing()).returning('id').executeTakeFirst();
      if (!row || !fire) return row && { id: row.id, alert: null };
      const payload = JSON.stringify(payloadOf(row.id));
      const alert = await tx.insertInto('assay_alerts').values({
        assay_id: id, result_id: row.id, url: a.webhook, payload, status: 'pending', attempts: 0, http_status: null, last_error: null, created_at: now, updated_at: now,
      }).returning('id').executeTakeFirstOrThrow();
      return { id: row.id, alert: { id: alert.id, url: a.webhook, payload } };
    });
    if (!stored) return null;
    return { result: { id: stored.id, assay: r.name, ...result, created_at: iso(now) }, alert: stored.alert };
  }
}

const iso = (t: number) => new Date(t).toISOString();
