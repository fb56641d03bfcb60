/**
 * The internal columnar batch: named, typed, shaped tensors in row-major typed arrays.
 * Every wire format converts to and from this; runtimes only ever see it.
 */
import { fail } from '../errors/index.ts';
import { float16BitsToNumber, numberToFloat16Bits } from './float16.ts';

export const DATATYPES = [
  'BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64',
  'FP16', 'FP32', 'FP64', 'BYTES',
] as const;
export type DataType = (typeof DATATYPES)[number];

/** FP16 is kept as its raw IEEE half bits; BOOL as one byte per element. */
export type TensorData =
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Float32Array | Float64Array | string[];

export interface Tensor {
  name: string;
  datatype: DataType;
  shape: number[];
  data: TensorData;
}

/** Named tensors in a stable order. */
export type Batch = Tensor[];

type NumericCtor = { new (n: number | ArrayBufferLike, offset?: number, length?: number): Exclude<TensorData, string[]>; BYTES_PER_ELEMENT: number };

const ctors: Record<Exclude<DataType, 'BYTES'>, NumericCtor> = {
  BOOL: Uint8Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array, UINT64: BigUint64Array,
  INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, INT64: BigInt64Array,
  FP16: Uint16Array, FP32: Float32Array, FP64: Float64Array,
} as unknown as Record<Exclude<DataType, 'BYTES'>, NumericCtor>;

const intRanges: Partial<Record<DataType, [number, number]>> = {
  UINT8: [0, 255], UINT16: [0, 65535], UINT32: [0, 4294967295],
  INT8: [-128, 127], INT16: [-32768, 32767], INT32: [-2147483648, 2147483647],
};

export function isDataType(s: unknown): s is DataType {
  return typeof s === 'string' && (DATATYPES as readonly string[]).includes(s);
}

export function bytesPerElement(dt: DataType): number | undefined {
  return dt === 'BYTES' ? undefined : ctors[dt].BYTES_PER_ELEMENT;
}

export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function checkShape(name: string, shape: unknown): number[] {
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    fail('SHAPE_MISMATCH', `tensor '${name}': shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  return shape as number[];
}

export function allocate(dt: DataType, n: number): TensorData {
  return dt === 'BYTES' ? new Array<string>(n).fill('') : new ctors[dt](n);
}

/**
 * The leaves of nested arrays in order, as `Array.prototype.flat(Infinity)` gives them (JSON has no
 * holes), without its generic per-element cost: flat data (OIP) comes back as it is, one row per
 * inner array (records) is walked once.
 */
function leaves(data: unknown[]): unknown[] {
  let i = 0;
  while (i < data.length && !Array.isArray(data[i])) i++;
  if (i === data.length) return data;
  const out = data.slice(0, i);
  const walk = (a: unknown[]) => {
    for (let j = 0; j < a.length; j++) {
      const v = a[j];
      if (Array.isArray(v)) walk(v);
      else out.push(v);
    }
  };
  walk(data.slice(i));
  return out;
}

/**
 * The fast path for float data laid out as the shape says — flat (OIP), or one array per row of a
 * 2-D shape (records) — with every element a number: copied into `out` in one pass. False for
 * anything else, which the general path then reads (and, if it is wrong, names what is wrong).
 */
function numbersInto(data: unknown[], shape: number[], out: Float32Array | Float64Array): boolean {
  if (data.length === out.length) {
    for (let i = 0; i < data.length; i++) {
      const v = data[i];
      if (typeof v !== 'number') return false;
      out[i] = v;
    }
    return true;
  }
  if (shape.length !== 2 || data.length !== shape[0]) return false;
  const w = shape[1];
  for (let r = 0, at = 0; r < data.length; r++) {
    const row = data[r];
    if (!Array.isArray(row) || row.length !== w) return false;
    for (let j = 0; j < w; j++, at++) {
      const v = row[j];
      if (typeof v !== 'number') return false;
      out[at] = v;
    }
  }
  return true;
}

/**
 * Builds typed data from JSON `data` (flat or nested, row-major), checking every value's
 * type and range and the element count against the shape.
 */
export function fromJsonData(name: string, dt: DataType, shape: number[], data: unknown): TensorData {
  if (!Array.isArray(data)) fail('INVALID_TENSOR', `tensor '${name}': 'data' must be an array`);
  if (dt === 'FP32' || dt === 'FP64') {
    const out = dt === 'FP32' ? new Float32Array(elementCount(shape)) : new Float64Array(elementCount(shape));
    if (numbersInto(data as unknown[], shape, out)) return out;
  }
  const flat = leaves(data as unknown[]);
  const n = elementCount(shape);
  if (flat.length !== n) {
    fail('DATA_LENGTH_MISMATCH', `tensor '${name}': shape ${JSON.stringify(shape)} needs ${n} elements, data has ${flat.length}`);
  }
  const bad = (i: number, want: string): never =>
    fail('INVALID_TENSOR', `tensor '${name}': element ${i} is ${JSON.stringify(flat[i])}, expected ${want} for ${dt}`);
  switch (dt) {
    case 'BYTES': {
      const out = new Array<string>(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'string') bad(i, 'a string');
        out[i] = v as string;
      }
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (v === true || v === 1) out[i] = 1;
        else if (v !== false && v !== 0) bad(i, 'true or false');
      }
      return out;
    }
    case 'INT64': case 'UINT64': {
      const out = dt === 'INT64' ? new BigInt64Array(n) : new BigUint64Array(n);
      const [lo, hi] = dt === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        let b: bigint | undefined;
        if (typeof v === 'number' && Number.isInteger(v)) b = BigInt(v);
        else if (typeof v === 'string' && /^-?\d+$/.test(v)) b = BigInt(v);
        if (b === undefined || b < lo || b > hi) bad(i, 'an integer in range');
        out[i] = b as bigint;
      }
      return out;
    }
    case 'FP16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'number') bad(i, 'a number');
        out[i] = numberToFloat16Bits(v as number);
      }
      return out;
    }
    case 'FP32': case 'FP64': {
      const out = dt === 'FP32' ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'number') bad(i, 'a number');
        out[i] = v as number;
      }
      return out;
    }
    default: {
      const [lo, hi] = intRanges[dt]!;
      const out = new ctors[dt](n) as Int32Array;
      for (let i = 0; i < n; i++) {
        const v = flat[i];
        if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) bad(i, `an integer in [${lo}, ${hi}]`);
        out[i] = v as number;
      }
      return out;
    }
  }
}

/**
 * JSON-ready flat data. INT64/UINT64 beyond 2^53 lose precision as JSON numbers, which is
 * what every OIP JSON client expects; the binary extension keeps them exact.
 */
export function toJsonData(t: Tensor): unknown[] {
  const d = t.data;
  if (Array.isArray(d)) return d;
  if (t.datatype === 'BOOL') return Array.from(d as Uint8Array, (v) => v !== 0);
  if (t.datatype === 'FP16') return Array.from(d as Uint16Array, float16BitsToNumber);
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Array.from(d, Number);
  const out = Array.from(d as Float64Array);
  if (t.datatype === 'FP32' || t.datatype === 'FP64') {
    // JSON has no NaN or Infinity: they travel as null.
    for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) (out as unknown[])[i] = null;
  }
  return out;
}

/** Raw little-endian bytes of a tensor, as the binary tensor data extension sends them. */
export function toBytes(t: Tensor): Buffer {
  const d = t.data;
  if (Array.isArray(d)) {
    const parts: Buffer[] = [];
    for (const s of d) {
      const b = Buffer.from(s, 'utf8');
      const len = Buffer.allocUnsafe(4);
      len.writeUInt32LE(b.length, 0);
      parts.push(len, b);
    }
    return Buffer.concat(parts);
  }
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** Reads raw tensor bytes (copied into an aligned buffer where the type needs it). */
export function fromBytes(name: string, dt: DataType, shape: number[], bytes: Buffer): TensorData {
  const n = elementCount(shape);
  if (dt === 'BYTES') {
    const out: string[] = [];
    let off = 0;
    while (off < bytes.length) {
      if (off + 4 > bytes.length) fail('DATA_LENGTH_MISMATCH', `tensor '${name}': truncated BYTES element length at byte ${off}`);
      const len = bytes.readUInt32LE(off);
      off += 4;
      if (off + len > bytes.length) fail('DATA_LENGTH_MISMATCH', `tensor '${name}': BYTES element ${out.length} runs past the data`);
      out.push(bytes.toString('utf8', off, off + len));
      off += len;
    }
    if (out.length !== n) {
      fail('DATA_LENGTH_MISMATCH', `tensor '${name}': shape ${JSON.stringify(shape)} needs ${n} elements, binary data has ${out.length}`);
    }
    return out;
  }
  const ctor = ctors[dt];
  if (bytes.length !== n * ctor.BYTES_PER_ELEMENT) {
    fail('DATA_LENGTH_MISMATCH',
      `tensor '${name}': shape ${JSON.stringify(shape)} of ${dt} needs ${n * ctor.BYTES_PER_ELEMENT} bytes, got ${bytes.length}`);
  }
  // Typed arrays need their offset aligned to the element size; copy only when it is not.
  if (bytes.byteOffset % ctor.BYTES_PER_ELEMENT === 0) return new ctor(bytes.buffer, bytes.byteOffset, n);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, n);
}

/** Rows [start, end) of a tensor along its first dimension, without copying numeric data. */
export function sliceRows(t: Tensor, start: number, end: number): Tensor {
  const rowSize = elementCount(t.shape.slice(1));
  const data = Array.isArray(t.data)
    ? t.data.slice(start * rowSize, end * rowSize)
    : t.data.subarray(start * rowSize, end * rowSize);
  return { name: t.name, datatype: t.datatype, shape: [end - start, ...t.shape.slice(1)], data: data as TensorData };
}

/** Turns flat JSON data into nested arrays following the shape (for one row's value). */
export function nest(flat: unknown[], shape: readonly number[]): unknown {
  if (shape.length === 0) return flat[0];
  if (shape.length === 1) return flat;
  const inner = shape.slice(1);
  const step = elementCount(inner);
  const out: unknown[] = [];
  for (let i = 0; i < shape[0]; i++) out.push(nest(flat.slice(i * step, (i + 1) * step), inner));
  return out;
}

/** The given rows of a tensor, in the given order (a copy). */
export function takeRows(t: Tensor, rows: ArrayLike<number>): Tensor {
  const rowSize = elementCount(t.shape.slice(1));
  const out = allocate(t.datatype, rows.length * rowSize);
  for (let i = 0; i < rows.length; i++) {
    const from = rows[i] * rowSize;
    if (Array.isArray(t.data)) for (let k = 0; k < rowSize; k++) (out as string[])[i * rowSize + k] = t.data[from + k];
    else (out as Float64Array).set((t.data as Float64Array).subarray(from, from + rowSize), i * rowSize);
  }
  return { name: t.name, datatype: t.datatype, shape: [rows.length, ...t.shape.slice(1)], data: out };
}

/** Writes the rows of `part` into `target` at the given row positions. */
export function putRows(target: Tensor, part: Tensor, rows: ArrayLike<number>): void {
  const rowSize = elementCount(target.shape.slice(1));
  for (let i = 0; i < rows.length; i++) {
    const to = rows[i] * rowSize;
    if (Array.isArray(part.data)) for (let k = 0; k < rowSize; k++) (target.data as string[])[to + k] = part.data[i * rowSize + k];
    else (target.data as Float64Array).set((part.data as Float64Array).subarray(i * rowSize, (i + 1) * rowSize), to);
  }
}

/** Stacks tensors of one name along their first dimension (rows). */
export function concatRows(parts: Tensor[]): Tensor {
  if (parts.length === 1) return parts[0];
  const rows = parts.reduce((n, t) => n + t.shape[0], 0);
  const shape = [rows, ...parts[0].shape.slice(1)];
  const out = allocate(parts[0].datatype, elementCount(shape));
  let at = 0;
  for (const p of parts) {
    if (Array.isArray(out)) for (const v of p.data as string[]) out[at++] = v;
    else {
      (out as Float64Array).set(p.data as Float64Array, at);
      at += p.data.length;
    }
  }
  return { name: parts[0].name, datatype: parts[0].datatype, shape, data: out };
}

/** The ArrayBuffer a view spans whole, which can be moved (not copied) to another thread; undefined for a view of part of one. */
export function wholeBuffer(view: ArrayBufferView): ArrayBuffer | undefined {
  return view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength ? view.buffer : undefined;
}

/** The buffers a batch's typed data can be moved with: those each tensor's data spans whole. */
export function transferables(batch: Batch): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const t of batch) {
    const whole = Array.isArray(t.data) ? undefined : wholeBuffer(t.data);
    if (whole) out.add(whole);
  }
  return [...out];
}
