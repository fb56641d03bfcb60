/**
 * Open Inference Protocol gRPC messages <-> Batch. The messages are the plain objects that
 * @grpc/proto-loader yields with snake_case fields, 64-bit integers as decimal strings and
 * bytes as Buffers; nothing here knows gRPC itself.
 *
 * Inputs come either all in `raw_input_contents` (the fast path: little-endian bytes, viewed
 * without copying where aligned) or all in typed `contents`. The answer mirrors the request:
 * raw outputs for a raw request, typed contents for a typed one, except that FP16 (which has no
 * typed field) makes the whole answer raw.
 */
import { fail } from '../errors/index.ts';
import {
  type Batch, type DataType, type Tensor, checkShape, elementCount, fromBytes, fromJsonData, isDataType, toBytes,
} from './tensor.ts';

type Int64 = string | number;

export interface GrpcParameter {
  bool_param?: boolean;
  int64_param?: Int64;
  string_param?: string;
  double_param?: number;
  uint64_param?: Int64;
  /** The oneof's chosen field, when the loader reports it. */
  parameter_choice?: string;
}

export type GrpcParameters = Record<string, GrpcParameter>;

export interface GrpcContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: Int64[];
  uint_contents?: number[];
  uint64_contents?: Int64[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface GrpcTensor {
  name: string;
  datatype: string;
  shape: Int64[];
  parameters?: GrpcParameters;
  contents?: GrpcContents | null;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: GrpcParameters;
  inputs?: GrpcTensor[];
  outputs?: { name: string; parameters?: GrpcParameters }[];
  raw_input_contents?: Uint8Array[];
}

export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: GrpcParameters;
  outputs: GrpcTensor[];
  raw_output_contents: Buffer[];
}

/** An infer call as every transport decodes it (the data plane runs it). */
export interface InferCall {
  /** The pipeline: the protocol's "model". */
  model: string;
  /** The pipeline version asked for (absent: the deployed one). */
  version?: number;
  id?: string;
  /** The request's parameters: logged as the inference's metadata. */
  parameters: Record<string, unknown>;
  inputs: Batch;
  /** Output names to return (absent: all). */
  outputs?: string[];
}

export interface DecodedGrpcRequest extends InferCall {
  /** Whether the inputs came as raw bytes. */
  raw: boolean;
}

/** The typed contents field that carries each datatype (FP16 has none: raw only). */
const CONTENTS_FIELD: Record<DataType, keyof GrpcContents | undefined> = {
  BOOL: 'bool_contents', INT8: 'int_contents', INT16: 'int_contents', INT32: 'int_contents', INT64: 'int64_contents',
  UINT8: 'uint_contents', UINT16: 'uint_contents', UINT32: 'uint_contents', UINT64: 'uint64_contents',
  FP16: undefined, FP32: 'fp32_contents', FP64: 'fp64_contents', BYTES: 'bytes_contents',
};

const contentsSize = (c: GrpcContents | null | undefined): number =>
  c ? Object.values(c).reduce((n, v) => n + (Array.isArray(v) ? v.length : 0), 0) : 0;

/** '' -> undefined; a positive integer -> that version; anything else is refused. */
export function parseVersion(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) fail('INVALID_REQUEST', `model_version must be a positive integer, got '${v}'`);
  return Number(v);
}

function toShape(name: string, shape: Int64[] | undefined): number[] {
  const dims = (shape ?? []).map(Number);
  if (!dims.every(Number.isSafeInteger)) fail('SHAPE_MISMATCH', `tensor '${name}': shape ${JSON.stringify(shape)} is out of range`);
  return checkShape(name, dims);
}

function int64Value(v: Int64): number | string {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : String(v);
}

export function fromGrpcParameters(params: GrpcParameters | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(params ?? {})) {
    const choice = p.parameter_choice ?? (Object.keys(p).find((f) => f.endsWith('_param') && (p as Record<string, unknown>)[f] != null));
    switch (choice) {
      case 'bool_param': out[k] = p.bool_param; break;
      case 'int64_param': out[k] = int64Value(p.int64_param ?? 0); break;
      case 'uint64_param': out[k] = int64Value(p.uint64_param ?? 0); break;
      case 'double_param': out[k] = p.double_param; break;
      case 'string_param': out[k] = p.string_param; break;
      default: out[k] = null;
    }
  }
  return out;
}

/** Plain values as InferParameters; arrays and objects travel as JSON strings. */
export function toGrpcParameters(values: Record<string, unknown>): GrpcParameters {
  const out: GrpcParameters = {};
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'boolean') out[k] = { bool_param: v };
    else if (typeof v === 'number' && Number.isSafeInteger(v)) out[k] = { int64_param: v };
    else if (typeof v === 'number') out[k] = { double_param: v };
    else if (typeof v === 'bigint') out[k] = v < 0n ? { int64_param: String(v) } : { uint64_param: String(v) };
    else if (typeof v === 'string') out[k] = { string_param: v };
    else if (v !== undefined) out[k] = { string_param: JSON.stringify(v) };
  }
  return out;
}

function typedInput(t: GrpcTensor, dt: DataType, shape: number[]): Tensor['data'] {
  const field = CONTENTS_FIELD[dt];
  if (field === undefined) {
    return fail('INVALID_TENSOR', `input '${t.name}': ${dt} has no typed contents field; send it in raw_input_contents`);
  }
  const values = (t.contents?.[field] ?? []) as unknown[];
  if (values.length === 0 && elementCount(shape) > 0) {
    const other = t.contents && (Object.keys(t.contents) as (keyof GrpcContents)[]).find((f) => (t.contents![f]?.length ?? 0) > 0);
    if (other) fail('INVALID_TENSOR', `input '${t.name}' is ${dt}, whose values go in contents.${field}, but they are in contents.${other}`);
    fail('INVALID_TENSOR', `input '${t.name}' has no contents and the request has no raw_input_contents`);
  }
  const json = dt === 'BYTES' ? (values as Uint8Array[]).map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')) : values;
  return fromJsonData(t.name, dt, shape, json);
}

export function decodeGrpcInferRequest(req: GrpcInferRequest): DecodedGrpcRequest {
  if (!req.model_name) fail('INVALID_REQUEST', 'model_name is required');
  const given = req.inputs ?? [];
  if (given.length === 0) fail('INVALID_REQUEST', "inference request needs at least one tensor in 'inputs'");
  const rawContents = req.raw_input_contents ?? [];
  const raw = rawContents.length > 0;
  if (raw && rawContents.length !== given.length) {
    fail('INVALID_REQUEST', `raw_input_contents has ${rawContents.length} entries for ${given.length} inputs; give one per input, in order`);
  }
  const seen = new Set<string>();
  const inputs: Batch = given.map((t, i): Tensor => {
    if (!t.name) return fail('INVALID_REQUEST', `inputs[${i}] needs a name`);
    if (seen.has(t.name)) fail('INVALID_REQUEST', `input '${t.name}' is given twice`);
    seen.add(t.name);
    if (!isDataType(t.datatype)) return fail('UNKNOWN_DATATYPE', `input '${t.name}': unknown datatype ${JSON.stringify(t.datatype)}`);
    const shape = toShape(t.name, t.shape);
    if (raw) {
      if (contentsSize(t.contents) > 0) {
        fail('INVALID_REQUEST', `input '${t.name}' has typed contents but the request uses raw_input_contents; use one or the other`);
      }
      const bytes = rawContents[i];
      const buf = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return { name: t.name, datatype: t.datatype, shape, data: fromBytes(t.name, t.datatype, shape, buf) };
    }
    return { name: t.name, datatype: t.datatype, shape, data: typedInput(t, t.datatype, shape) };
  });
  const outputs = req.outputs?.length ? req.outputs.map((o, i) => o.name || fail('INVALID_REQUEST', `outputs[${i}] needs a name`)) : undefined;
  return {
    model: req.model_name, version: parseVersion(req.model_version), id: req.id || undefined,
    parameters: fromGrpcParameters(req.parameters), inputs, outputs, raw,
  };
}

function typedContents(t: Tensor): GrpcContents {
  const field = CONTENTS_FIELD[t.datatype]!;
  const d = t.data;
  let values: unknown[];
  if (Array.isArray(d)) values = d.map((s) => Buffer.from(s, 'utf8'));
  else if (t.datatype === 'BOOL') values = Array.from(d as Uint8Array, (v) => v !== 0);
  // 64-bit integers as decimal strings: exact, whatever their size.
  else if (d instanceof BigInt64Array || d instanceof BigUint64Array) values = Array.from(d, String);
  else values = Array.from(d as Float64Array);
  return { [field]: values };
}

export interface GrpcResponseHead {
  model_name: string;
  model_version: string;
  id?: string;
  parameters?: Record<string, unknown>;
}

/** Raw outputs when `raw` holds or any output is FP16; typed contents otherwise. */
export function encodeGrpcInferResponse(head: GrpcResponseHead, outputs: Batch, raw: boolean): GrpcInferResponse {
  const asRaw = raw || outputs.some((t) => t.datatype === 'FP16');
  return {
    model_name: head.model_name,
    model_version: head.model_version,
    id: head.id ?? '',
    parameters: toGrpcParameters(head.parameters ?? {}),
    outputs: outputs.map((t) => ({
      name: t.name, datatype: t.datatype, shape: t.shape, ...(asRaw ? {} : { contents: typedContents(t) }),
    })),
    raw_output_contents: asRaw ? outputs.map(toBytes) : [],
  };
}
