/**
 * Ground truth: labels uploaded for a pipeline's predictions, keyed like the predictions are
 * (keys.ts). A later label for a key replaces the earlier one, which is kept with `replaced_at`
 * set. Labels are joined to predictions when a window is computed, so one that arrives before its
 * prediction matches as soon as the prediction is logged; labels whose key no logged prediction
 * has are counted and listed, never dropped.
 */
import { fail } from '../../errors/index.ts';
import type { InferenceLogWriter } from '../../logs/writer.ts';
import type { PipelineService } from '../../pipelines/index.ts';
import type { DB } from '../../store/index.ts';
import { type KeySpec, checkKeySpec, keyColumns, labelKey, requestRowKey } from './keys.ts';
import type { Row } from './upload.ts';

export const MAX_FEEDBACK_ROWS = 1_000_000;
/** Keys looked up per query (SQLite's bound-parameter limit is far above). */
const KEYS_PER_QUERY = 500;

export interface FeedbackOptions {
  key?: string;
  /** Label columns; default: every column that is not part of the key. */
  label?: string[];
}

export interface FeedbackReceipt {
  pipeline: string;
  key: KeySpec;
  labels: string[];
  received: number;
  /** Keys that already had a label: the new one replaced it (the old one is kept as history). */
  replaced: number;
  /** Labels whose prediction is logged. */
  matched: number;
  /** Labels with no logged prediction (yet): listed by GET .../feedback/unmatched. */
  unmatched: number;
}

export interface UnmatchedLabels {
  pipeline: string;
  count: number;
  labels: { key: string; labels: Record<string, unknown>; received_at: string }[];
}

export interface CurrentLabel {
  labels: Record<string, unknown>;
  received_at: number;
}

export class FeedbackService {
  /** Called after labels are stored: pending windows may be final now. */
  onUpload: () => void = () => {};

  constructor(
    private readonly db: DB,
    private readonly pipelines: PipelineService,
    private readonly logs: InferenceLogWriter,
    private readonly now: () => number = Date.now,
  ) {}

  async upload(workspaceId: number, pipeline: string, rows: Row[], opts: FeedbackOptions): Promise<FeedbackReceipt> {
    const pipelineId = await this.pipelines.pipelineId(workspaceId, pipeline);
    const spec = checkKeySpec(opts.key);
    if (rows.length > MAX_FEEDBACK_ROWS) fail('INVALID_FEEDBACK', `at most ${MAX_FEEDBACK_ROWS} labels per upload, got ${rows.length}`);
    const keyCols = keyColumns(spec);
    const idCol = keyCols[0];
    const labelCols = opts.label?.length ? opts.label : Object.keys(rows[0]).filter((c) => !keyCols.includes(c));
    if (labelCols.length === 0) fail('INVALID_FEEDBACK', `the rows have no label column besides the key ('${keyCols.join("', '")}')`);
    const entries = new Map<string, Record<string, unknown>>();
    rows.forEach((r, i) => {
      const id = r[idCol];
      if (id === undefined || id === null || id === '') fail('INVALID_FEEDBACK', `row ${i} has no '${idCol}' (the key '${spec}')`);
      if (spec === 'request_id' && r.row !== undefined && r.row !== null && !(Number.isInteger(r.row) && (r.row as number) >= 0)) {
        fail('INVALID_FEEDBACK', `row ${i}: 'row' must be the row's index within its request (an integer ≥ 0), got ${JSON.stringify(r.row)}`);
      }
      const labels: Record<string, unknown> = {};
      for (const c of labelCols) {
        if (!(c in r)) fail('INVALID_FEEDBACK', `row ${i} has no label column '${c}'`);
        labels[c] = r[c];
      }
      // Within one upload the last row for a key wins, as a later upload would.
      entries.set(labelKey(spec, id, r.row), labels);
    });
    const now = this.now();
    let replaced = 0;
    const keys = [...entries.keys()];
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < keys.length; i += KEYS_PER_QUERY) {
        const chunk = keys.slice(i, i + KEYS_PER_QUERY);
        const r = await tx.updateTable('feedback_labels').set({ replaced_at: now })
          .where('pipeline_id', '=', pipelineId).where('key', 'in', chunk).where('replaced_at', 'is', null).executeTakeFirst();
        replaced += Number(r.numUpdatedRows);
        await tx.insertInto('feedback_labels')
          .values(chunk.map((key) => ({ workspace_id: workspaceId, pipeline_id: pipelineId, key, labels: JSON.stringify(entries.get(key)), received_at: now, replaced_at: null })))
          .execute();
      }
    });
    this.onUpload();
    const logged = await this.loggedKeys(pipelineId, new Set([spec]));
    const matched = keys.filter((k) => logged.has(k)).length;
    return { pipeline, key: spec, labels: labelCols, received: entries.size, replaced, matched, unmatched: entries.size - matched };
  }

  /** Current labels with no logged prediction, oldest first. */
  async unmatched(workspaceId: number, pipeline: string, limit = 1000): Promise<UnmatchedLabels> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) fail('INVALID_REQUEST', `'limit' must be an integer in [1, 10000]`);
    const pipelineId = await this.pipelines.pipelineId(workspaceId, pipeline);
    const rows = await this.db.selectFrom('feedback_labels').select(['key', 'labels', 'received_at'])
      .where('pipeline_id', '=', pipelineId).where('replaced_at', 'is', null).orderBy('id').execute();
    const specs = new Set(rows.map((r) => specOf(r.key)));
    const logged = await this.loggedKeys(pipelineId, specs);
    const missing = rows.filter((r) => !logged.has(r.key));
    return {
      pipeline, count: missing.length,
      labels: missing.slice(0, limit).map((r) => ({ key: r.key, labels: JSON.parse(r.labels), received_at: new Date(Number(r.received_at)).toISOString() })),
    };
  }

  /** The current label of each key given that has one. */
  async current(pipelineId: number, keys: string[]): Promise<Map<string, CurrentLabel>> {
    const out = new Map<string, CurrentLabel>();
    const unique = [...new Set(keys)];
    for (let i = 0; i < unique.length; i += KEYS_PER_QUERY) {
      const rows = await this.db.selectFrom('feedback_labels').select(['key', 'labels', 'received_at'])
        .where('pipeline_id', '=', pipelineId).where('key', 'in', unique.slice(i, i + KEYS_PER_QUERY)).where('replaced_at', 'is', null).execute();
      for (const r of rows) out.set(r.key, { labels: JSON.parse(r.labels), received_at: Number(r.received_at) });
    }
    return out;
  }

  /** Every logged row's key under the specs given: the whole log, segment by segment. */
  private async loggedKeys(pipelineId: number, specs: Set<KeySpec>): Promise<Set<string>> {
    await this.logs.flush();
    const out = new Set<string>();
    let last = 0;
    for (;;) {
      // Only the headers: request ids and metadata are stored once per request there.
      const heads = await this.db.selectFrom('inference_log_segments').select(['id', 'requests'])
        .where('pipeline_id', '=', pipelineId).where('id', '>', last).orderBy('id').limit(64).execute();
      for (const h of heads) {
        for (const [rows, requestId, , metadata] of JSON.parse(h.requests) as [number, string | null, number, Record<string, unknown>][]) {
          for (let row = 0; row < rows; row++) {
            for (const s of specs) {
              const k = requestRowKey(s, requestId, metadata, row, rows);
              if (k !== null) out.add(k);
            }
          }
        }
      }
      if (heads.length < 64) return out;
      last = heads[heads.length - 1].id;
    }
  }
}

/** The spec a stored key was made under. */
const specOf = (key: string): KeySpec => (key.startsWith('request_id:') ? 'request_id' : (key.slice(0, key.indexOf(':')) as KeySpec));
