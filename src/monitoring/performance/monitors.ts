/**
 * The performance monitor service: previews (unsaved), saved monitors (create, list, get, pause,
 * resume, delete), running one window for the scheduler, results and alert deliveries.
 *
 * A saved monitor's window is computed once it has ended and stored; while it is pending (labels
 * still arriving) it is recomputed as labels come (an upload wakes the scheduler) and at least
 * every `recheckMs`, and the monitor's next window moves on only when the window turns final.
 * Alerts: on the CBPE estimate the first time a window is computed (before its labels), and on
 * the realised metric when the window turns final.
 */
import type { Selectable } from 'kysely';
import { fail } from '../../errors/index.ts';
import type { InferenceLogWriter } from '../../logs/writer.ts';
import type { PipelineService } from '../../pipelines/index.ts';
import { checkName } from '../../registry/index.ts';
import type { DB } from '../../store/index.ts';
import type { PerformanceMonitorTable } from '../../store/schema.ts';
import { formatDuration, parseTime } from '../../time/index.ts';
import { resolveColumn, logSpan } from '../source.ts';
import { checkWebhookTarget } from '../webhooks.ts';
import { type Window, type WindowGrid, firstEndingAfter, newestComplete, windowAt, windowsIn } from '../windows.ts';
import { type Calibration, calibrate } from './cbpe.ts';
import { type MonitorDefinition, type ResolvedMonitor, resolveMonitor } from './definition.ts';
import { type PerformanceWindow, evaluateWindow } from './evaluate.ts';
import type { FeedbackService } from './feedback.ts';
import { joinedRows } from './joined.ts';

export const MAX_PREVIEW_WINDOWS = 1000;
export const MAX_BACKFILL_WINDOWS = 1000;
/** Fewest labelled reference rows CBPE calibrates on. */
export const MIN_REFERENCE_ROWS = 20;

type MonitorRow = Selectable<PerformanceMonitorTable> & { pipeline: string };
export type PreviewRequest = MonitorDefinition & { start?: number | string; end?: number | string };

export interface MonitorInfo {
  id: number;
  name: string;
  pipeline: string;
  task: string;
  metric: string;
  state: 'active' | 'paused';
  window: { width: string; interval: string; start: number };
  definition: ResolvedMonitor;
  /** CBPE's reference: rows it was calibrated on; null without one. */
  calibration: { reference_rows: number } | null;
  next_window: Window;
  last_result: { window: Window; value: number | null; status: string; state: string } | null;
  created_at: string;
}

export interface StoredWindow extends PerformanceWindow {
  id: number;
  monitor: string;
  created_at: string;
}

export interface MonitorPreview {
  pipeline: string;
  definition: ResolvedMonitor;
  calibration: { reference_rows: number } | null;
  windows: PerformanceWindow[];
}

export interface AlertDelivery {
  id: number;
  monitor: string;
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

interface Prepared {
  pipelineId: number;
  def: ResolvedMonitor;
  calibration: Calibration | null;
}

export interface RunOutcome {
  result: { id: number; name: string; status: string; value: number | null };
  alert: { id: number; url: string; payload: string } | null;
  /** Set while the window is pending: run it again by then. */
  waitUntil?: number;
}

const iso = (t: number) => new Date(t).toISOString();

export class MonitorService {
  onChange: () => void = () => {};

  constructor(
    private readonly db: DB,
    private readonly pipelines: PipelineService,
    private readonly logs: InferenceLogWriter,
    private readonly feedback: FeedbackService,
    private readonly now: () => number = Date.now,
    private readonly allowPrivateWebhooks = false,
    /** How often a pending window is recomputed at the least (labels uploaded wake it sooner). */
    private readonly recheckMs = 60_000,
  ) {}

  private async prepare(workspaceId: number, d: MonitorDefinition): Promise<Prepared> {
    const def = resolveMonitor(d, this.now());
    const pipelineId = await this.pipelines.pipelineId(workspaceId, def.pipeline);
    const versions = await this.pipelines.versions(workspaceId, def.pipeline);
    // resolveColumn speaks of 'target.*': say 'prediction.*' here
    const check = (column: string, index: number[] | null, field: string) => {
      try { resolveColumn(versions, column, index); } catch (e) {
        fail('UNKNOWN_COLUMN', (e as Error).message.replaceAll("'target.column'", `'${field}.column'`).replaceAll("'target.index'", `'${field}.index'`));
      }
    };
    const spec = versions.flatMap((v) => v.signature.outputs.concat(v.signature.inputs)).find((s) => `${def.prediction.column}`.endsWith(`.${s.name}`));
    // A per-row tensor of one element (shape [N, 1]) needs no index.
    if (!(def.prediction.index === null && spec && spec.shape.slice(1).reduce((a, b) => a * Math.max(b, 1), 1) === 1)) check(def.prediction.column, def.prediction.index, 'prediction');
    if (def.probabilities) {
      const outs = versions.flatMap((v) => v.signature.outputs);
      if (!outs.some((s) => `out.${s.name}` === def.probabilities!.column)) {
        fail('UNKNOWN_COLUMN', `pipeline '${def.pipeline}' has no output '${def.probabilities.column}'; its outputs are: ${[...new Set(outs.map((s) => `out.${s.name}`))].join(', ')}`);
      }
    }
    let calibration: Calibration | null = null;
    if (def.reference) {
      await this.logs.flush();
      const rows = await joinedRows(this.db, this.feedback, pipelineId, def, def.reference.start, def.reference.end);
      const classes = def.classes ?? ['0', '1'];
      const pi = classes.indexOf(def.positive);
      const usable = rows.filter((r) => r.label !== null && r.answer.value !== null && r.answer.probabilities?.length === 2);
      if (usable.length < MIN_REFERENCE_ROWS) {
        fail('INVALID_MONITOR', `CBPE needs at least ${MIN_REFERENCE_ROWS} labelled predictions with two class probabilities in 'reference'; ${iso(def.reference.start)}–${iso(def.reference.end)} has ${usable.length} (${rows.length} logged)`);
      }
      calibration = calibrate(
        usable.map((r) => (r.label === def.positive ? 1 : 0)), usable.map((r) => (r.answer.value === def.positive ? 1 : 0)), usable.map((r) => r.answer.probabilities![pi]),
      );
    }
    return { pipelineId, def, calibration };
  }

  private async compute(p: Prepared, w: Window): Promise<PerformanceWindow> {
    const rows = await joinedRows(this.db, this.feedback, p.pipelineId, p.def, w.start, w.end);
    return evaluateWindow(p.def, p.calibration, rows, w, this.now());
  }

  async preview(workspaceId: number, req: PreviewRequest): Promise<MonitorPreview> {
    const p = await this.prepare(workspaceId, req);
    await this.logs.flush();
    const span = await logSpan(this.db, p.pipelineId);
    const from = req.start !== undefined ? parseTime(req.start, 'start', 'INVALID_MONITOR') : req.window?.start !== undefined ? p.def.window.start : span.first;
    const to = req.end !== undefined ? parseTime(req.end, 'end', 'INVALID_MONITOR') : span.last === null ? null : span.last + 1;
    if (from === null || to === null) return fail('WINDOW_TOO_WIDE', `pipeline '${p.def.pipeline}' has no inference logs to preview over; give 'start' and 'end'`);
    if (!(to > from)) fail('INVALID_MONITOR', `'end' must be after 'start'`);
    const grid: WindowGrid = { ...p.def.window, start: req.window.start !== undefined ? p.def.window.start : from };
    const windows = windowsIn(grid, from, to);
    if (windows.length === 0) fail('WINDOW_TOO_WIDE', `no whole window of ${formatDuration(p.def.window.width)} fits between ${iso(from)} and ${iso(to)}`);
    if (windows.length > MAX_PREVIEW_WINDOWS) fail('INVALID_MONITOR', `the preview would compute ${windows.length} windows; at most ${MAX_PREVIEW_WINDOWS}: narrow 'start'/'end' or widen 'window.interval'`);
    const out: PerformanceWindow[] = [];
    for (const w of windows) out.push(await this.compute(p, w));
    return { pipeline: p.def.pipeline, definition: p.def, calibration: p.calibration && { reference_rows: p.calibration.reference_rows }, windows: out };
  }

  async create(workspaceId: number, name: string, d: MonitorDefinition): Promise<MonitorInfo> {
    checkName('monitor', name);
    const existing = await this.db.selectFrom('performance_monitors').select('id').where('workspace_id', '=', workspaceId).where('name', '=', name).executeTakeFirst();
    if (existing) fail('MONITOR_EXISTS', `monitor '${name}' already exists; delete it first or pick another name`);
    const p = await this.prepare(workspaceId, d);
    if (p.def.alert) checkWebhookTarget(new URL(p.def.alert.webhook), this.allowPrivateWebhooks);
    const now = this.now();
    const next = Math.max(0, newestComplete(p.def.window, now) + 1 - MAX_BACKFILL_WINDOWS);
    await this.db.insertInto('performance_monitors').values({
      workspace_id: workspaceId, pipeline_id: p.pipelineId, name, definition: JSON.stringify(p.def),
      calibration: p.calibration ? JSON.stringify(p.calibration) : null, state: 'active', next_window: next, created_at: now, updated_at: now,
    }).execute();
    this.onChange();
    return this.get(workspaceId, name);
  }

  private async row(workspaceId: number, name: string): Promise<MonitorRow> {
    const r = await this.db.selectFrom('performance_monitors as m').innerJoin('pipelines as p', 'p.id', 'm.pipeline_id').selectAll('m').select('p.name as pipeline')
      .where('m.workspace_id', '=', workspaceId).where('m.name', '=', name).executeTakeFirst();
    return r ?? fail('MONITOR_NOT_FOUND', `monitor '${name}' not found`);
  }

  private async info(r: MonitorRow): Promise<MonitorInfo> {
    const def = JSON.parse(r.definition) as ResolvedMonitor;
    const cal = r.calibration ? (JSON.parse(r.calibration) as Calibration) : null;
    const last = await this.db.selectFrom('performance_results').select(['window_index', 'window_start', 'window_end', 'value', 'status', 'result'])
      .where('monitor_id', '=', r.id).orderBy('window_start', 'desc').limit(1).executeTakeFirst();
    return {
      id: r.id, name: r.name, pipeline: r.pipeline, task: def.task, metric: def.metric, state: r.state as MonitorInfo['state'],
      window: { width: formatDuration(def.window.width), interval: formatDuration(def.window.interval), start: def.window.start },
      definition: def, calibration: cal && { reference_rows: cal.reference_rows }, next_window: windowAt(def.window, r.next_window),
      last_result: last ? {
        window: { index: last.window_index, start: Number(last.window_start), end: Number(last.window_end) }, value: last.value, status: last.status,
        state: (JSON.parse(last.result) as PerformanceWindow).state,
      } : null,
      created_at: iso(Number(r.created_at)),
    };
  }

  async get(workspaceId: number, name: string): Promise<MonitorInfo> { return this.info(await this.row(workspaceId, name)); }

  async list(workspaceId: number): Promise<MonitorInfo[]> {
    const rows = await this.db.selectFrom('performance_monitors as m').innerJoin('pipelines as p', 'p.id', 'm.pipeline_id').selectAll('m').select('p.name as pipeline')
      .where('m.workspace_id', '=', workspaceId).orderBy('m.name').execute();
    return Promise.all(rows.map((r) => this.info(r)));
  }

  async pause(workspaceId: number, name: string): Promise<MonitorInfo> {
    const r = await this.row(workspaceId, name);
    await this.db.updateTable('performance_monitors').set({ state: 'paused', updated_at: this.now() }).where('id', '=', r.id).execute();
    this.onChange();
    return this.get(workspaceId, name);
  }

  async resume(workspaceId: number, name: string): Promise<MonitorInfo> {
    const r = await this.row(workspaceId, name);
    if (r.state !== 'active') {
      const def = JSON.parse(r.definition) as ResolvedMonitor;
      const next = Math.max(r.next_window, firstEndingAfter(def.window, this.now()));
      await this.db.updateTable('performance_monitors').set({ state: 'active', next_window: next, updated_at: this.now() }).where('id', '=', r.id).execute();
    }
    this.onChange();
    return this.get(workspaceId, name);
  }

  async delete(workspaceId: number, name: string): Promise<{ deleted: string }> {
    const r = await this.row(workspaceId, name);
    await this.db.deleteFrom('performance_monitors').where('id', '=', r.id).execute();
    this.onChange();
    return { deleted: name };
  }

  /** Stored windows (final, and the pending one with its estimate), chronological. */
  async results(workspaceId: number, name: string, q: { start?: number; end?: number; limit?: number } = {}): Promise<StoredWindow[]> {
    const r = await this.row(workspaceId, name);
    const limit = q.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) fail('INVALID_REQUEST', `'limit' must be an integer in [1, 10000]`);
    let query = this.db.selectFrom('performance_results').select(['id', 'result', 'created_at']).where('monitor_id', '=', r.id);
    if (q.start !== undefined) query = query.where('window_start', '>=', q.start);
    if (q.end !== undefined) query = query.where('window_start', '<', q.end);
    const rows = await query.orderBy('window_start').limit(limit).execute();
    return rows.map((x) => ({ id: x.id, monitor: name, ...(JSON.parse(x.result) as PerformanceWindow), created_at: iso(Number(x.created_at)) }));
  }

  async alerts(workspaceId: number, name: string): Promise<AlertDelivery[]> {
    const r = await this.row(workspaceId, name);
    const rows = await this.db.selectFrom('performance_alerts').selectAll().where('monitor_id', '=', r.id).orderBy('id').execute();
    return rows.map((a) => ({
      id: a.id, monitor: name, result_id: a.result_id, url: a.url, status: a.status as AlertDelivery['status'], attempts: a.attempts,
      http_status: a.http_status, last_error: a.last_error, payload: JSON.parse(a.payload), created_at: iso(Number(a.created_at)), updated_at: iso(Number(a.updated_at)),
    }));
  }

  /** A saved monitor's metrics over any range (not a window of its grid): for compare. */
  async over(workspaceId: number, name: string, start: number, end: number): Promise<PerformanceWindow> {
    const r = await this.row(workspaceId, name);
    await this.logs.flush();
    const p: Prepared = { pipelineId: r.pipeline_id, def: JSON.parse(r.definition), calibration: r.calibration ? JSON.parse(r.calibration) : null };
    return this.compute(p, { index: -1, start, end });
  }

  // ---- for the scheduler ----

  async active(): Promise<{ id: number; grid: WindowGrid; next: number }[]> {
    const rows = await this.db.selectFrom('performance_monitors').select(['id', 'definition', 'next_window']).where('state', '=', 'active').execute();
    return rows.map((r) => ({ id: r.id, grid: (JSON.parse(r.definition) as ResolvedMonitor).window, next: r.next_window }));
  }

  /**
   * Computes window `index` of monitor `id` and stores it. A final window moves the monitor's next
   * window on (in the same transaction); a pending one is stored as it stands and run again later.
   */
  async runWindow(id: number, index: number): Promise<RunOutcome | null> {
    const r = await this.db.selectFrom('performance_monitors as m').innerJoin('pipelines as p', 'p.id', 'm.pipeline_id').selectAll('m').select('p.name as pipeline')
      .where('m.id', '=', id).executeTakeFirst();
    if (!r || r.state !== 'active' || r.next_window !== index) return null;
    const def = JSON.parse(r.definition) as ResolvedMonitor;
    const p: Prepared = { pipelineId: r.pipeline_id, def, calibration: r.calibration ? JSON.parse(r.calibration) : null };
    const w = windowAt(def.window, index);
    await this.logs.flush();
    const result = await this.compute(p, w);
    const now = this.now();
    const final = result.state === 'final';
    const values = { count: result.count, labelled: result.labelled, value: result.value, status: result.status, result: JSON.stringify(result) };
    const a = def.alert;
    const fires = (s: string | null | undefined) => a && (s === 'alert' || (s === 'warning' && a.on === 'warning'));
    // The result, the move to the next window and the alert's delivery row commit together: a server
    // that dies after the commit leaves the delivery pending for a survivor, never unrecorded.
    const stored = await this.db.transaction().execute(async (tx) => {
      if (final) {
        const moved = await tx.updateTable('performance_monitors').set({ next_window: index + 1, updated_at: now })
          .where('id', '=', id).where('next_window', '=', index).where('state', '=', 'active').executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) return null;
      }
      const before = await tx.selectFrom('performance_results').select('id').where('monitor_id', '=', id).where('window_start', '=', w.start).executeTakeFirst();
      let resultId: number;
      if (before) {
        await tx.updateTable('performance_results').set({ ...values, created_at: now }).where('id', '=', before.id).execute();
        resultId = before.id;
      } else {
        resultId = (await tx.insertInto('performance_results').values({
          monitor_id: id, window_index: index, window_start: w.start, window_end: w.end, ...values, created_at: now,
        }).returning('id').executeTakeFirstOrThrow()).id;
      }
      // the estimate is judged once, when the window is first computed; the realised value when it turns final
      const source = final && fires(result.status) ? 'realised' : !before && fires(result.estimated?.status) ? 'estimated' : null;
      if (!source || !a) return { id: resultId, alert: null };
      const value = source === 'realised' ? result.value : result.estimated?.value ?? null;
      const status = source === 'realised' ? result.status : result.estimated?.status ?? result.status;
      const payload = JSON.stringify({
        event: `performance.${status}`, source, monitor: r.name, pipeline: r.pipeline, metric: def.metric, value, status,
        thresholds: def.thresholds, coverage: result.coverage, count: result.count, labelled: result.labelled,
        window: { start: iso(w.start), end: iso(w.end), start_ms: w.start, end_ms: w.end, index }, result_id: resultId,
        results_path: `/v1/monitors/${encodeURIComponent(r.name)}/results?start=${w.start}&end=${w.start + 1}`,
      });
      const alert = await tx.insertInto('performance_alerts').values({
        monitor_id: id, result_id: resultId, url: a.webhook, payload, status: 'pending', attempts: 0, http_status: null, last_error: null, created_at: now, updated_at: now,
      }).returning('id').executeTakeFirstOrThrow();
      return { id: resultId, alert: { id: alert.id, url: a.webhook, payload } };
    });
    if (!stored) return null;
    return {
      result: { id: stored.id, name: r.name, status: result.status, value: result.value },
      alert: stored.alert,
      ...(final ? {} : { waitUntil: Math.min(result.final_by, now + this.recheckMs) }),
    };
  }
}
