/**
 * "Records" JSON, what pandas `DataFrame.to_json(orient="records")` writes: one object per
 * row, a column holding a scalar or a (nested) array. Rows become tensors whose first
 * dimension is the row count.
 */
import { fail } from '../errors/index.ts';
import type { TensorSpec } from '../runtimes/runtime.ts';
import { type Batch, type Tensor, elementCount, fromJsonData, nest, toJsonData } from './tensor.ts';

const isRow = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function valueShape(v: unknown): number[] {
  const shape: number[] = [];
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

/**
 * When a pipeline has one tensor input and the records do not name it, their scalar columns
 * (in the order of the first record) are stacked into it: a plain feature DataFrame works.
 */
function stackFeatureColumns(rows: Record<string, unknown>[], spec: TensorSpec): Record<string, unknown>[] {
  const columns = Object.keys(rows[0]);
  const width = spec.shape.length === 2 ? spec.shape[1] : -1;
  if (width !== -1 && columns.length !== width) {
    fail('MISSING_INPUT',
      `records have no column '${spec.name}' and their ${columns.length} columns do not match its ${width} features`);
  }
  return rows.map((r, i) => {
    const keys = Object.keys(r);
    if (keys.length !== columns.length || keys.some((k, j) => k !== columns[j])) {
      fail('INVALID_REQUEST', `record ${i} has columns ${keys.join(', ')}; record 0 has ${columns.join(', ')}`);
    }
    return { [spec.name]: columns.map((c) => r[c]) };
  });
}

export function decodeRecords(body: unknown, inputs: TensorSpec[]): Batch {
  if (!Array.isArray(body) || body.length === 0) fail('INVALID_REQUEST', 'records must be a non-empty JSON array of row objects');
  let rows = body as unknown[];
  rows.forEach((r, i) => isRow(r) || fail('INVALID_REQUEST', `record ${i} is not an object`));
  let records = rows as Record<string, unknown>[];
  if (inputs.length === 1 && !(inputs[0].name in records[0])) records = stackFeatureColumns(records, inputs[0]);

  const known = new Set(inputs.map((s) => s.name));
  for (const k of Object.keys(records[0])) {
    if (!known.has(k)) fail('UNKNOWN_INPUT', `unknown column '${k}'; the pipeline's inputs are: ${[...known].join(', ')}`);
  }
  return inputs.map((spec) => columnToTensor(spec, records.map((r, i) => {
    if (!(spec.name in r)) fail('MISSING_INPUT', `record ${i} has no column '${spec.name}'`);
    return r[spec.name];
  })));
}

/** One column (a value per row: scalar or nested array) as a tensor of the spec's datatype. */
export function columnToTensor(spec: TensorSpec, values: unknown[]): Tensor {
  let rowShape = valueShape(values[0]);
  // A row whose element count fits the signature's row shape takes that shape ([1] for a scalar in a [N,1] input).
  const specRow = spec.shape.slice(1);
  if (specRow.length > 0 && specRow.every((d) => d >= 0) && elementCount(specRow) === elementCount(rowShape)) rowShape = specRow;
  const shape = [values.length, ...rowShape];
  return { name: spec.name, datatype: spec.datatype, shape, data: fromJsonData(spec.name, spec.datatype, shape, values) };
}

/** One JSON value per row of a tensor (scalars for 1-D tensors, nested arrays otherwise). */
export function rowValues(t: Tensor, rows: number): unknown[] {
  if (t.shape.length === 0 || t.shape[0] !== rows) {
    // Not batched along the rows: every row sees the whole tensor.
    const whole = nest(toJsonData(t), t.shape);
    return new Array(rows).fill(whole);
  }
  const inner = t.shape.slice(1);
  const flat = toJsonData(t);
  const step = elementCount(inner);
  const out = new Array(rows);
  for (let i = 0; i < rows; i++) out[i] = inner.length === 0 ? flat[i] : nest(flat.slice(i * step, (i + 1) * step), inner);
  return out;
}

export function rowCount(batch: Batch): number {
  return batch.length > 0 && batch[0].shape.length > 0 ? batch[0].shape[0] : 1;
}

/** Result rows: `time`, `in.<input>`, `out.<output>` — the columns data scientists know. */
export function encodeRecords(time: number, inputs: Batch, outputs: Batch): Record<string, unknown>[] {
  const n = rowCount(inputs);
  const rows: Record<string, unknown>[] = Array.from({ length: n }, () => ({ time }));
  for (const [prefix, batch] of [['in.', inputs], ['out.', outputs]] as const) {
    for (const t of batch) {
      const values = rowValues(t, n);
      for (let i = 0; i < n; i++) rows[i][prefix + t.name] = values[i];
    }
  }
  return rows;
}

