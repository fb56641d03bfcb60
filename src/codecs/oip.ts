/**
 * Open Inference Protocol v2 REST bodies <-> Batch, including Triton's binary tensor
 * data extension (a JSON header followed by raw tensor bytes).
 */
import { fail } from '../errors/index.ts';
import {
  type Batch, type Tensor, checkShape, fromBytes, fromJsonData, isDataType, toBytes, toJsonData,
} from './tensor.ts';

export interface RequestedOutput {
  name: string;
  binary: boolean;
}

export interface OipInferRequest {
  id?: string;
  parameters: Record<string, unknown>;
  inputs: Batch;
  /** Absent: all outputs. */
  outputs?: RequestedOutput[];
  /** Request-level binary_data_output. */
  binaryOutput: boolean;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    return fail('INVALID_JSON', `request body is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * @param body the whole request body
 * @param headerLength the Inference-Header-Content-Length header, when the body carries binary tensors
 */
export function decodeInferRequest(body: Buffer, headerLength?: number): OipInferRequest {
  if (headerLength !== undefined && (!Number.isInteger(headerLength) || headerLength < 0 || headerLength > body.length)) {
    fail('INVALID_REQUEST', `Inference-Header-Content-Length ${headerLength} does not fit a body of ${body.length} bytes`);
  }
  const jsonEnd = headerLength ?? body.length;
  const req = parseJson(body.toString('utf8', 0, jsonEnd));
  if (!isObject(req)) return fail('INVALID_REQUEST', 'inference request must be a JSON object');
  if (!Array.isArray(req.inputs) || req.inputs.length === 0) {
    return fail('INVALID_REQUEST', "inference request needs a non-empty 'inputs' array");
  }
  if (req.id !== undefined && typeof req.id !== 'string') fail('INVALID_REQUEST', "'id' must be a string");
  const parameters = isObject(req.parameters) ? { ...req.parameters } : {};
  const binaryOutput = parameters.binary_data_output === true;
  delete parameters.binary_data_output;

  let offset = jsonEnd;
  const seen = new Set<string>();
  const inputs: Batch = req.inputs.map((raw: unknown, i: number): Tensor => {
    if (!isObject(raw) || typeof raw.name !== 'string') return fail('INVALID_REQUEST', `inputs[${i}] needs a string 'name'`);
    const name = raw.name;
    if (seen.has(name)) fail('INVALID_REQUEST', `input '${name}' is given twice`);
    seen.add(name);
    if (!isDataType(raw.datatype)) {
      return fail('UNKNOWN_DATATYPE', `input '${name}': unknown datatype ${JSON.stringify(raw.datatype)}`);
    }
    const shape = checkShape(name, raw.shape);
    const size = isObject(raw.parameters) ? raw.parameters.binary_data_size : undefined;
    if (size !== undefined) {
      if (!Number.isInteger(size) || (size as number) < 0) fail('INVALID_REQUEST', `input '${name}': binary_data_size must be a non-negative integer`);
      if (headerLength === undefined) fail('INVALID_REQUEST', `input '${name}' has binary_data_size but the request has no Inference-Header-Content-Length header`);
      const end = offset + (size as number);
      if (end > body.length) fail('DATA_LENGTH_MISMATCH', `input '${name}': binary_data_size ${size} runs past the end of the body`);
      const data = fromBytes(name, raw.datatype, shape, body.subarray(offset, end));
      offset = end;
      return { name, datatype: raw.datatype, shape, data };
    }
    if (raw.data === undefined) return fail('INVALID_TENSOR', `input '${name}' has neither 'data' nor binary_data_size`);
    return { name, datatype: raw.datatype, shape, data: fromJsonData(name, raw.datatype, shape, raw.data) };
  });
  if (offset !== body.length) {
    fail('DATA_LENGTH_MISMATCH', `request carries ${body.length - offset} bytes of binary data that no input claims`);
  }

  let outputs: RequestedOutput[] | undefined;
  if (req.outputs !== undefined) {
    if (!Array.isArray(req.outputs)) fail('INVALID_REQUEST', "'outputs' must be an array");
    outputs = (req.outputs as unknown[]).map((o, i) => {
      if (!isObject(o) || typeof o.name !== 'string') return fail('INVALID_REQUEST', `outputs[${i}] needs a string 'name'`);
      const p = isObject(o.parameters) ? o.parameters : {};
      return { name: o.name, binary: p.binary_data === true || (p.binary_data === undefined && binaryOutput) };
    });
  }
  return { id: req.id as string | undefined, parameters, inputs, outputs, binaryOutput };
}

export interface OipResponseHead {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
}

export interface EncodedBody {
  body: string | Buffer;
  /** Set when the body carries binary tensors: the JSON header's length. */
  headerLength?: number;
}

/** Builds an infer response; outputs for which `binary(name)` holds travel as raw bytes. */
export function encodeInferResponse(head: OipResponseHead, outputs: Batch, binary: (name: string) => boolean): EncodedBody {
  const chunks: Buffer[] = [];
  const json = {
    ...head,
    outputs: outputs.map((t) => {
      if (binary(t.name)) {
        const bytes = toBytes(t);
        chunks.push(bytes);
        return { name: t.name, datatype: t.datatype, shape: t.shape, parameters: { binary_data_size: bytes.length } };
      }
      return { name: t.name, datatype: t.datatype, shape: t.shape, data: toJsonData(t) };
    }),
  };
  const text = JSON.stringify(json);
  if (chunks.length === 0) return { body: text };
  const header = Buffer.from(text, 'utf8');
  return { body: Buffer.concat([header, ...chunks]), headerLength: header.length };
}
