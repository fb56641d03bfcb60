/**
 * Inference logs move to a columnar layout (issue 13): one row per segment (a flush's rows of one
 * pipeline version) and one blob per column of a segment. Existing rows are migrated into
 * segments of up to 1,000 rows with every value column JSON-encoded (their types are not known
 * here), so old logs stay readable through the one read path; then the row table is dropped.
 */
import { type Kysely, sql } from 'kysely';
import { columnTypes } from '../columns.ts';

const CHUNK = 1000;

type OldRow = {
  id: number; workspace_id: number; pipeline_id: number; pipeline_version: number; time: number; request_id: string | null;
  inputs: string; outputs: string; models: string; latency_ms: number; metadata: string; shadow: string; anomalies: string; anomaly_count: number;
};

export async function up(db: Kysely<unknown>): Promise<void> {
  const t = columnTypes(db);
  await db.schema.createTable('inference_log_segments')
    .addColumn('id', 'integer', t.id)
    .addColumn('workspace_id', 'integer', (c) => c.notNull())
    .addColumn('pipeline_id', 'integer', (c) => c.notNull())
    .addColumn('pipeline_version', 'integer', (c) => c.notNull())
    .addColumn('time_min', 'bigint', (c) => c.notNull())
    .addColumn('time_max', 'bigint', (c) => c.notNull())
    .addColumn('rows', 'integer', (c) => c.notNull())
    .addColumn('anomaly_rows', 'integer', (c) => c.notNull())
    .addColumn('models', 'text', (c) => c.notNull())
    .addColumn('requests', 'text', (c) => c.notNull())
    .addColumn('columns', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('inference_log_segments_pipeline_time').on('inference_log_segments').columns(['pipeline_id', 'time_min', 'id']).execute();
  await db.schema.createTable('inference_log_columns')
    .addColumn('segment_id', 'integer', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('data', t.blob, (c) => c.notNull())
    .addPrimaryKeyConstraint('inference_log_columns_pk', ['segment_id', 'name'])
    .execute();

  let last = 0;
  for (;;) {
    const rows = (await sql<OldRow>`SELECT * FROM inference_logs WHERE id > ${last} ORDER BY id LIMIT ${CHUNK}`.execute(db)).rows;
    if (rows.length === 0) break;
    last = rows[rows.length - 1].id;
    // A segment holds rows of one pipeline version with the same columns (shadows present or not).
    const layout = (r: OldRow) => JSON.stringify([r.pipeline_id, r.pipeline_version, Object.keys(JSON.parse(r.inputs)), Object.keys(JSON.parse(r.outputs)),
      Object.entries(JSON.parse(r.shadow) as Record<string, object>).map(([m, o]) => [m, Object.keys(o)])]);
    let run: OldRow[] = [];
    for (const r of rows) {
      if (run.length && layout(run[0]) !== layout(r)) { await writeSegment(db, run); run = []; }
      run.push(r);
    }
    if (run.length) await writeSegment(db, run);
  }
  await db.schema.dropTable('inference_logs').execute();
}

/** One segment of old rows, in id order; time order within it is what the read path assumes. */
async function writeSegment(db: Kysely<unknown>, run: OldRow[]): Promise<void> {
  run.sort((a, b) => Number(a.time) - Number(b.time) || a.id - b.id);
  const n = run.length;
  const cols = new Map<string, unknown[]>();
  const put = (name: string, i: number, v: unknown) => {
    let c = cols.get(name);
    if (!c) cols.set(name, (c = new Array(n).fill(null)));
    c[i] = v;
  };
  const time = new Float64Array(n);
  const models: string[] = [];
  const modelIdx = new Uint16Array(n);
  const anomalies: string[][] = [];
  let anomalyRows = 0;
  run.forEach((r, i) => {
    time[i] = Number(r.time);
    for (const [k, v] of Object.entries(JSON.parse(r.inputs))) put(`in.${k}`, i, v);
    for (const [k, v] of Object.entries(JSON.parse(r.outputs))) put(`out.${k}`, i, v);
    for (const [m, outs] of Object.entries(JSON.parse(r.shadow) as Record<string, Record<string, unknown>>)) {
      for (const [k, v] of Object.entries(outs)) put(`shadow.${m}.${k}`, i, v);
    }
    let idx = models.indexOf(r.models);
    if (idx < 0) { idx = models.length; models.push(r.models); }
    modelIdx[i] = idx;
    const broken = JSON.parse(r.anomalies) as string[];
    anomalies.push(broken);
    if (broken.length) anomalyRows++;
  });
  const columns: { spec: Record<string, unknown>; data: Buffer }[] = [
    { spec: { name: 'time', encoding: 'typed', datatype: 'FP64', shape: [] }, data: Buffer.from(time.buffer) },
  ];
  if (models.length > 1) columns.push({ spec: { name: 'models', encoding: 'typed', datatype: 'UINT16', shape: [] }, data: Buffer.from(modelIdx.buffer) });
  if (anomalyRows) columns.push({ spec: { name: 'anomalies', encoding: 'json' }, data: Buffer.from(JSON.stringify(anomalies)) });
  for (const [name, values] of cols) columns.push({ spec: { name, encoding: 'json' }, data: Buffer.from(JSON.stringify(values)) });
  const requests = run.map((r) => [1, r.request_id, r.latency_ms, JSON.parse(r.metadata)]);
  const seg = await db.insertInto('inference_log_segments' as never).values({
    workspace_id: run[0].workspace_id, pipeline_id: run[0].pipeline_id, pipeline_version: run[0].pipeline_version,
    time_min: time[0], time_max: time[n - 1], rows: n, anomaly_rows: anomalyRows,
    models: `[${models.join(',')}]`, requests: JSON.stringify(requests), columns: JSON.stringify(columns.map((c) => c.spec)),
  } as never).returning('id' as never).executeTakeFirstOrThrow() as { id: number };
  await db.insertInto('inference_log_columns' as never).values(columns.map((c) => ({ segment_id: seg.id, name: c.spec.name, data: c.data })) as never).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('inference_log_columns').execute();
  await db.schema.dropTable('inference_log_segments').execute();
}
