/**
 * "Records" JSON, what pandas `DataFrame.to_json(orient="records")` writes: one object per
 * row, a column holding a scalar or a (nested) array. Rows become tensors whose first
 * dimension is the row count.
 */
import { fail } from '../errors/index.ts';
import type { TensorSpec } from '../runtimes/runtime.ts';
import { float16BitsToNumber } from './float16.ts';
import { JsonBytes, keyBytes } from './json-bytes.ts';
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

/** Writes one element as JSON.stringify writes the value toJsonData gives it. */
type ElementWriter = (w: JsonBytes, i: number) => void;

function elementWriter(t: Tensor): ElementWriter {
  const d = t.data;
  if (Array.isArray(d)) return (w, i) => w.raw(JSON.stringify(d[i]));
  switch (t.datatype) {
    case 'BOOL': return (w, i) => w.raw(d[i] !== 0 ? 'true' : 'false');
    case 'FP16': return (w, i) => w.number(float16BitsToNumber(d[i] as number));
    case 'FP32': case 'FP64': return (w, i) => w.number(d[i] as number); // NaN and the infinities as null: JSON has none
    default: return (w, i) => w.number(Number(d[i])); // integers; 64-bit ones as JSON numbers, as toJsonData reads them
  }
}

/** Writes elements [at, at + elementCount(shape)) nested by `shape`. */
function writeNested(w: JsonBytes, element: ElementWriter, at: number, shape: readonly number[], dim = 0): void {
  if (dim === shape.length) { element(w, at); return; }
  const step = elementCount(shape.slice(dim + 1));
  w.byte(0x5b); // [
  for (let i = 0; i < shape[dim]; i++) {
    if (i) w.byte(0x2c); // ,
    writeNested(w, element, at + i * step, shape, dim + 1);
  }
  w.byte(0x5d); // ]
}

/** Writes each row's value of a tensor (what rowValues gives, stringified). */
function rowWriter(t: Tensor, rows: number): ElementWriter {
  const element = elementWriter(t);
  if (t.shape.length === 0 || t.shape[0] !== rows) {
    // Not batched along the rows: every row sees the whole tensor, written once.
    const whole = new JsonBytes(1024);
    writeNested(whole, element, 0, t.shape);
    const bytes = Buffer.from(whole.finish());
    return (w) => w.bytes(bytes);
  }
  const inner = t.shape.slice(1);
  const step = elementCount(inner);
  if (inner.length === 0) return element;
  const plain = ArrayBuffer.isView(t.data) && !(t.data instanceof BigInt64Array || t.data instanceof BigUint64Array)
    && t.datatype !== 'FP16' && t.datatype !== 'BOOL';
  if (inner.length === 1 && plain) {
    const data = t.data as ArrayLike<number>;
    return (w, i) => w.numberArray(data, i * step, step);
  }
  if (inner.length === 1) {
    return (w, i) => {
      w.byte(0x5b);
      for (let j = 0, at = i * step; j < step; j++, at++) {
        if (j) w.byte(0x2c);
        element(w, at);
      }
      w.byte(0x5d);
    };
  }
  return (w, i) => writeNested(w, element, i * step, inner);
}

/**
 * Result rows as JSON (UTF-8 bytes): `time`, `in.<input>`, `out.<output>` (the columns data
 * scientists know), then `anomaly.count` and `anomaly.<rule>` when the pipeline has validations.
 * Written straight from the typed tensors, as JSON.stringify would write the row objects, without
 * making them: a 1,000-row answer is tens of thousands of values.
 */
export function encodeRecordsJson(time: number, inputs: Batch, outputs: Batch, validations?: { rules: string[]; anomalies: string[][] }): Buffer {
  const n = rowCount(inputs);
  // Columns in key order; a later column with the same key replaces an earlier one in place, as assigning to an object does.
  const timeText = JSON.stringify(time);
  const columns = new Map<string, ElementWriter>([['time', (w) => w.raw(timeText)]]);
  let elements = 0;
  for (const [prefix, batch] of [['in.', inputs], ['out.', outputs]] as const) {
    for (const t of batch) {
      columns.set(prefix + t.name, rowWriter(t, n));
      elements += elementCount(t.shape);
    }
  }
  if (validations?.rules.length) {
    const broken = validations.anomalies;
    columns.set('anomaly.count', (w, i) => w.number(broken[i].length));
    for (const name of validations.rules) columns.set(`anomaly.${name}`, (w, i) => w.raw(broken[i].includes(name) ? 'true' : 'false'));
  }
  const keys = [...columns.keys()].map(keyBytes);
  const writers = [...columns.values()];
  const w = new JsonBytes(n * (32 + keys.reduce((s, k) => s + k.length + 1, 0)) + elements * 8);
  w.byte(0x5b);
  for (let i = 0; i < n; i++) {
    if (i) w.byte(0x2c);
    w.byte(0x7b); // {
    for (let c = 0; c < keys.length; c++) {
      if (c) w.byte(0x2c);
      w.bytes(keys[c]);
      writers[c](w, i);
    }
    w.byte(0x7d); // }
  }
  w.byte(0x5d);
  return w.finish();
}

