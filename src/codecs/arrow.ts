/**
 * Apache Arrow IPC (stream or file) <-> Batch, for the records route: a table whose columns are
 * the pipeline's inputs, one row per table row. A primitive column holds one value per row; a
 * FixedSizeList (or List with rows of equal length, nested for more dimensions) holds a tensor
 * per row. Column buffers become tensor data without per-row objects: a single-chunk column of
 * the input's own type is used in place, others are copied once (and cast where the pipeline
 * wants another numeric type, as pandas' float64 for an FP32 model).
 *
 * Answers are tables with `time`, `in.<input>`, `out.<output>` (and `anomaly.*` when the pipeline
 * has validations), as the JSON records route writes them.
 */
import {
  Bool, type Data, type DataType as ArrowType, Field, FixedSizeList, type Float, Float16, Float32, Float64,
  Int16, Int32, Int64, Int8, Table, TimestampMillisecond, Type, Uint16, Uint32, Uint64, Uint8, Utf8,
  Vector, makeData, tableFromIPC, tableToIPC, vectorFromArray,
} from 'apache-arrow';
import { fail } from '../errors/index.ts';
import type { TensorSpec } from '../runtimes/runtime.ts';
import { float16BitsToNumber, numberToFloat16Bits } from './float16.ts';
import { rowCount } from './records.ts';
import { type Batch, type DataType, type Tensor, type TensorData, allocate, elementCount, fromJsonData } from './tensor.ts';

export const ARROW_STREAM = 'application/vnd.apache.arrow.stream';
export const ARROW_FILE = 'application/vnd.apache.arrow.file';
export type ArrowFormat = 'stream' | 'file';

/** Columns pandas writes for a non-default index; they are not features. */
const PANDAS_INDEX = /^__index_level_\d+__$/;

/** Reads an IPC stream or file (told apart by their leading bytes). */
export function readArrow(body: Uint8Array): Table {
  let table: Table;
  try {
    table = tableFromIPC(body);
  } catch (e) {
    return fail('INVALID_REQUEST', `body is not a readable Arrow IPC stream or file: ${(e as Error).message}`);
  }
  if (table.schema.fields.length === 0) fail('INVALID_REQUEST', 'the Arrow table has no columns (is the body an Arrow IPC stream or file?)');
  if (table.numRows === 0) fail('INVALID_REQUEST', 'the Arrow table has no rows');
  return table;
}

export function writeArrow(table: Table, format: ArrowFormat): Uint8Array {
  return tableToIPC(table, format);
}

// ------------------------------------------------------------------ Arrow -> Batch

const arrowTypeName = (t: ArrowType) => String(t);

/** The OIP datatype an Arrow leaf type holds, if any. */
function datatypeOf(t: ArrowType): DataType | undefined {
  switch (t.typeId) {
    case Type.Bool: return 'BOOL';
    case Type.Utf8: case Type.LargeUtf8: return 'BYTES';
    case Type.Float: return (['FP16', 'FP32', 'FP64'] as const)[(t as Float16 | Float32 | Float64).precision];
    case Type.Int: {
      const { bitWidth, isSigned } = t as Int8;
      return `${isSigned ? 'INT' : 'UINT'}${bitWidth}` as DataType;
    }
    default: return undefined;
  }
}

/** One chunk of a column down to its leaf values: the row shape and the leaf data holding exactly those values. */
function leafOf(column: string, chunk: Data): { rowShape: number[]; leaf: Data; count: number } {
  const rowShape: number[] = [];
  let d = chunk;
  let count = chunk.length;
  for (;;) {
    if (d.nullCount > 0) fail('INVALID_TENSOR', `column '${column}' has null values; every row needs a value`);
    if (d.typeId === Type.FixedSizeList) {
      const size = (d.type as FixedSizeList).listSize;
      rowShape.push(size);
      count *= size;
      d = d.children[0].slice(0, count);
    } else if (d.typeId === Type.List || d.typeId === Type.LargeList) {
      const offsets = d.valueOffsets as Int32Array | BigInt64Array;
      const n = d.length;
      const first = Number(offsets[0]);
      const width = n === 0 ? 0 : Number(offsets[1]) - first;
      for (let i = 1; i < n; i++) {
        if (Number(offsets[i + 1]) - Number(offsets[i]) !== width) {
          fail('SHAPE_MISMATCH', `column '${column}': list lengths differ (${width} and ${Number(offsets[i + 1]) - Number(offsets[i])}); every row's tensor needs the same shape`);
        }
      }
      rowShape.push(width);
      count *= width;
      d = d.children[0].slice(first, count);
    } else {
      return { rowShape, leaf: d, count };
    }
  }
}

/** Leaf values as the OIP datatype the Arrow type holds (a view when possible), or JSON-like values otherwise. */
function leafValues(column: string, leaf: Data, count: number): { dt?: DataType; data: TensorData | unknown[] } {
  const dt = datatypeOf(leaf.type);
  if (dt === 'BOOL') {
    const out = new Uint8Array(count);
    const bits = leaf.values as Uint8Array;
    for (let i = 0, b = leaf.offset; i < count; i++, b++) out[i] = (bits[b >> 3] >> (b & 7)) & 1;
    return { dt, data: out };
  }
  if (dt === 'BYTES' || leaf.typeId === Type.Dictionary) {
    const v = new Vector([leaf]);
    const out = new Array(count);
    for (let i = 0; i < count; i++) out[i] = v.get(i);
    return { dt: dt === 'BYTES' ? dt : undefined, data: out };
  }
  if (dt !== undefined) return { dt, data: (leaf.values as Exclude<TensorData, string[]>).subarray(0, count) };
  return fail('INVALID_TENSOR', `column '${column}' is ${arrowTypeName(leaf.type)}, which no tensor datatype holds; send numbers, booleans or strings`);
}

const isFloat = (dt: DataType) => dt === 'FP32' || dt === 'FP64';

/** Casts values read from Arrow to the datatype the pipeline wants, checking integers' range. */
function cast(column: string, from: DataType | undefined, to: DataType, data: TensorData | unknown[], shape: number[]): TensorData {
  if (from === to) return data as TensorData;
  if (from === 'BYTES' || (to === 'BYTES' && from !== undefined)) {
    fail('DATATYPE_MISMATCH', `column '${column}' holds ${from === 'BYTES' ? 'strings' : from}; the pipeline input is ${to}`);
  }
  const numeric = from !== undefined && from !== 'BOOL';
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
  if (numeric && (isFloat(to) || to === 'FP16')) {
    const src = from === 'FP16' ? Float64Array.from(data as Uint16Array, float16BitsToNumber)
      : big ? Float64Array.from(data as BigInt64Array, Number) : (data as Float64Array);
    if (to === 'FP32') return new Float32Array(src);
    if (to === 'FP64') return new Float64Array(src);
    return Uint16Array.from(src, numberToFloat16Bits);
  }
  // Integers and booleans: checked element by element (a float must hold an integer in range).
  const values = from === undefined ? (data as unknown[])
    : from === 'FP16' ? Array.from(data as Uint16Array, float16BitsToNumber)
    : big ? Array.from(data as BigInt64Array, (v) => (Number.isSafeInteger(Number(v)) ? Number(v) : String(v)))
    : Array.from(data as Float64Array);
  return fromJsonData(column, to, shape, values);
}

function concat(dt: DataType, parts: (TensorData | unknown[])[]): TensorData | unknown[] {
  if (parts.length === 1) return parts[0];
  const n = parts.reduce((s, p) => s + p.length, 0);
  if (parts.some(Array.isArray)) return parts.flatMap((p) => Array.from(p as ArrayLike<unknown>));
  const out = allocate(dt, n) as Float64Array;
  let at = 0;
  for (const p of parts) {
    out.set(p as Float64Array, at);
    at += p.length;
  }
  return out as TensorData;
}

/** A column's values and row shape, all chunks together. */
function readColumn(table: Table, name: string): { dt?: DataType; rowShape: number[]; data: TensorData | unknown[] } {
  const vector = table.getChild(name)!;
  let rowShape: number[] | undefined;
  let dt: DataType | undefined;
  const parts: (TensorData | unknown[])[] = [];
  for (const chunk of vector.data) {
    const { rowShape: shape, leaf, count } = leafOf(name, chunk);
    if (rowShape && shape.join() !== rowShape.join()) {
      fail('SHAPE_MISMATCH', `column '${name}': rows have shape [${rowShape}] in one record batch and [${shape}] in another`);
    }
    rowShape = shape;
    const v = leafValues(name, leaf, count);
    dt = v.dt;
    parts.push(v.data);
  }
  return { dt, rowShape: rowShape ?? [], data: concat(dt ?? 'BYTES', parts) };
}

/** A column as the tensor the spec asks for; rows keep the spec's row shape when the element count fits. */
function columnTensor(table: Table, name: string, spec: TensorSpec): Tensor {
  const col = readColumn(table, name);
  const rows = table.numRows;
  let rowShape = col.rowShape;
  const specRow = spec.shape.slice(1);
  if (specRow.length > 0 && specRow.every((d) => d >= 0) && elementCount(specRow) === elementCount(rowShape)) rowShape = specRow;
  const shape = [rows, ...rowShape];
  return { name: spec.name, datatype: spec.datatype, shape, data: cast(name, col.dt, spec.datatype, col.data, shape) };
}

/**
 * When a pipeline has one tensor input and the table has no column of that name, its scalar
 * columns (in order) are stacked into it: a DataFrame of features works, as over JSON records.
 */
function stackColumns(table: Table, names: string[], spec: TensorSpec): Tensor {
  const width = spec.shape.length === 2 ? spec.shape[1] : -1;
  if (width !== -1 && names.length !== width) {
    fail('MISSING_INPUT', `the table has no column '${spec.name}' and its ${names.length} columns do not match its ${width} features`);
  }
  const rows = table.numRows;
  const out = allocate(spec.datatype, rows * names.length) as Float64Array;
  names.forEach((name, c) => {
    const col = readColumn(table, name);
    if (col.rowShape.length > 0) fail('INVALID_TENSOR', `column '${name}' holds a list per row; stacked feature columns need one value per row`);
    const values = cast(name, col.dt, spec.datatype, col.data, [rows]) as Float64Array;
    for (let r = 0; r < rows; r++) out[r * names.length + c] = values[r];
  });
  return { name: spec.name, datatype: spec.datatype, shape: [rows, names.length], data: out as TensorData };
}

/** A table's columns as the pipeline's input tensors, in signature order. */
export function tableToBatch(table: Table, inputs: TensorSpec[]): Batch {
  const names = table.schema.fields.map((f) => f.name).filter((n) => !PANDAS_INDEX.test(n));
  if (inputs.length === 1 && !names.includes(inputs[0].name)) return [stackColumns(table, names, inputs[0])];
  const known = new Set(inputs.map((s) => s.name));
  for (const n of names) {
    if (!known.has(n)) fail('UNKNOWN_INPUT', `unknown column '${n}'; the pipeline's inputs are: ${[...known].join(', ')}`);
  }
  return inputs.map((spec) => {
    if (!names.includes(spec.name)) fail('MISSING_INPUT', `the table has no column '${spec.name}'`);
    return columnTensor(table, spec.name, spec);
  });
}

export function decodeArrow(body: Uint8Array, inputs: TensorSpec[]): Batch {
  return tableToBatch(readArrow(body), inputs);
}

// ------------------------------------------------------------------ Batch -> Arrow

const LEAF_TYPES: Record<Exclude<DataType, 'BOOL' | 'BYTES'>, () => ArrowType> = {
  INT8: () => new Int8(), INT16: () => new Int16(), INT32: () => new Int32(), INT64: () => new Int64(),
  UINT8: () => new Uint8(), UINT16: () => new Uint16(), UINT32: () => new Uint32(), UINT64: () => new Uint64(),
  FP16: () => new Float16(), FP32: () => new Float32(), FP64: () => new Float64(),
};

function leafData(t: Tensor): Data {
  const n = t.data.length;
  if (t.datatype === 'BYTES') return vectorFromArray(t.data as string[], new Utf8()).data[0];
  if (t.datatype === 'BOOL') {
    const bits = new Uint8Array(Math.ceil(n / 8));
    const bytes = t.data as Uint8Array;
    for (let i = 0; i < n; i++) if (bytes[i]) bits[i >> 3] |= 1 << (i & 7);
    return makeData({ type: new Bool(), length: n, nullCount: 0, data: bits });
  }
  return makeData({ type: LEAF_TYPES[t.datatype]() as Float, length: n, nullCount: 0, data: t.data as never }) as Data;
}

/** Repeats a tensor that is not batched along the rows, so every row holds all of it. */
function perRow(t: Tensor, rows: number): Tensor {
  if (t.shape.length > 0 && t.shape[0] === rows) return t;
  const size = t.data.length;
  const data = allocate(t.datatype, size * rows);
  for (let r = 0; r < rows; r++) {
    if (Array.isArray(data)) for (let i = 0; i < size; i++) data[r * size + i] = (t.data as string[])[i];
    else (data as Float64Array).set(t.data as Float64Array, r * size);
  }
  return { ...t, shape: [rows, ...t.shape], data };
}

/** A tensor as an Arrow column: one value per row for [rows], nested FixedSizeLists for more dimensions. */
export function tensorToVector(t: Tensor, rows: number): Vector {
  const full = perRow(t, rows);
  let data = leafData(full);
  const inner = full.shape.slice(1);
  for (let i = inner.length - 1; i >= 0; i--) {
    const length = rows * elementCount(inner.slice(0, i));
    data = makeData({ type: new FixedSizeList(inner[i], new Field('item', data.type, false)), length, nullCount: 0, child: data });
  }
  return new Vector([data]);
}

/** Named tensors as a table, one column each (the round trip of `tableToBatch`). */
export function batchToTable(batch: Batch): Table {
  const rows = rowCount(batch);
  return new Table(Object.fromEntries(batch.map((t) => [t.name, tensorToVector(t, rows)])));
}

export interface ArrowResult {
  time: number;
  inputs: Batch;
  outputs: Batch;
  /** Validation names and, per row, those it broke (only when the pipeline has validations). */
  validations?: { rules: string[]; anomalies: string[][] };
}

/** The records route's answer as a table: time, in.*, out.* and anomaly.* columns. */
export function resultToTable(r: ArrowResult): Table {
  const rows = rowCount(r.inputs);
  const columns: Record<string, Vector> = {
    time: new Vector([makeData({ type: new TimestampMillisecond('UTC'), length: rows, nullCount: 0, data: new BigInt64Array(rows).fill(BigInt(r.time)) })]),
  };
  for (const t of r.inputs) columns[`in.${t.name}`] = tensorToVector(t, rows);
  for (const t of r.outputs) columns[`out.${t.name}`] = tensorToVector(t, rows);
  if (r.validations) {
    const { rules, anomalies } = r.validations;
    columns['anomaly.count'] = tensorToVector({ name: 'anomaly.count', datatype: 'INT32', shape: [rows], data: Int32Array.from(anomalies, (a) => a.length) }, rows);
    for (const rule of rules) {
      const broken = Uint8Array.from(anomalies, (a) => (a.includes(rule) ? 1 : 0));
      columns[`anomaly.${rule}`] = tensorToVector({ name: rule, datatype: 'BOOL', shape: [rows], data: broken }, rows);
    }
  }
  return new Table(columns);
}

/** The Arrow format a content type or Accept header names first, if any. */
export function arrowFormatOf(header: string | undefined): ArrowFormat | undefined {
  if (!header) return undefined;
  const stream = header.indexOf(ARROW_STREAM);
  const file = header.indexOf(ARROW_FILE);
  if (stream < 0 && file < 0) return undefined;
  return file < 0 || (stream >= 0 && stream < file) ? 'stream' : 'file';
}

/**
 * The answer's format (undefined: JSON): an Arrow type the Accept header names; else JSON when it
 * names JSON; else the request's own format.
 */
export function answerFormat(contentType: string | undefined, accept: string | undefined): ArrowFormat | undefined {
  const asked = arrowFormatOf(accept);
  if (asked || (accept && /\bapplication\/json\b/i.test(accept))) return asked;
  return arrowFormatOf(contentType);
}
