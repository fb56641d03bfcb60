/** ONNX models through onnxruntime-node. */
import * as ort from 'onnxruntime-node';
import type { Batch, DataType, Tensor, TensorData } from '../../codecs/tensor.ts';
import { BettongError, fail } from '../../errors/index.ts';
import type { Model, Runtime, RuntimeConfig, Signature, TensorSpec } from '../runtime.ts';

const fromOrt: Record<string, DataType> = {
  bool: 'BOOL', uint8: 'UINT8', uint16: 'UINT16', uint32: 'UINT32', uint64: 'UINT64',
  int8: 'INT8', int16: 'INT16', int32: 'INT32', int64: 'INT64',
  float16: 'FP16', float32: 'FP32', float64: 'FP64', string: 'BYTES',
};
const toOrt = Object.fromEntries(Object.entries(fromOrt).map(([k, v]) => [v, k])) as Record<DataType, ort.Tensor.Type>;

const ZIPMAP_HINT =
  'scikit-learn classifiers exported with skl2onnx defaults end in a ZipMap (a sequence of maps); ' +
  'export with options={id(model): {"zipmap": False}} so probabilities are a plain tensor';

function specs(meta: readonly ort.InferenceSession.ValueMetadata[], kind: string): TensorSpec[] {
  return meta.map((m) => {
    if (!m.isTensor) fail('UNSUPPORTED_MODEL_OUTPUT', `${kind} '${m.name}' is not a tensor; ${ZIPMAP_HINT}`);
    const t = m as ort.InferenceSession.TensorValueMetadata;
    const datatype = fromOrt[t.type];
    if (!datatype) fail('UNSUPPORTED_MODEL_OUTPUT', `${kind} '${m.name}' has element type ${t.type}, which Bettong cannot serve`);
    return { name: m.name, datatype, shape: t.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1)) };
  });
}

async function createSession(artifact: Uint8Array, config: RuntimeConfig = {}): Promise<ort.InferenceSession> {
  try {
    return await ort.InferenceSession.create(artifact, {
      intraOpNumThreads: config.intraOpThreads ?? 0,
      interOpNumThreads: 1,
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    return fail('INVALID_MODEL', `not a loadable ONNX model: ${(e as Error).message}`);
  }
}

function signatureOf(session: ort.InferenceSession): Signature {
  return { inputs: specs(session.inputMetadata, 'input'), outputs: specs(session.outputMetadata, 'output') };
}

function toOrtTensor(t: Tensor): ort.Tensor {
  return new ort.Tensor(toOrt[t.datatype], t.data as ort.Tensor.DataType, t.shape);
}

function fromOrtTensor(name: string, t: ort.Tensor): Tensor {
  const datatype = fromOrt[t.type];
  // ORT may hand float16 back as a Float16Array where the platform has one; keep raw half bits.
  let data = t.data as unknown as TensorData;
  if (datatype === 'FP16' && !(data instanceof Uint16Array)) {
    const d = data as unknown as { buffer: ArrayBuffer; byteOffset: number; length: number };
    data = new Uint16Array(d.buffer, d.byteOffset, d.length);
  }
  return { name, datatype, shape: t.dims.map(Number), data };
}

class OnnxModel implements Model {
  constructor(private readonly session: ort.InferenceSession, readonly signature: Signature) {}

  async predict(inputs: Batch, outputNames?: string[]): Promise<Batch> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = toOrtTensor(t);
    const names = outputNames ?? this.signature.outputs.map((o) => o.name);
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feeds, names);
    } catch (e) {
      throw new BettongError('INFERENCE_FAILED', `ONNX Runtime failed: ${(e as Error).message}`);
    }
    return names.map((n) => fromOrtTensor(n, result[n] as ort.Tensor));
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

export const onnxRuntime: Runtime = {
  name: 'onnx',
  platform: 'onnx_onnxv1',
  async inspect(artifact) {
    const session = await createSession(artifact, { intraOpThreads: 1 });
    try {
      return signatureOf(session);
    } finally {
      await session.release();
    }
  },
  async load(artifact, config) {
    const session = await createSession(artifact, config);
    return new OnnxModel(session, signatureOf(session));
  },
};
