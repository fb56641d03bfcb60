/** Checks a request's tensors against a pipeline signature, before anything runs. */
import type { Batch, Tensor } from '../codecs/tensor.ts';
import { fail } from '../errors/index.ts';
import type { Signature } from '../runtimes/index.ts';

const fmt = (s: number[]) => `[${s.join(', ')}]`;

/** Returns the inputs in signature order; throws a 4xx naming the offending tensor. */
export function checkInputs(pipeline: string, signature: Signature, inputs: Batch): Batch {
  const given = new Map(inputs.map((t) => [t.name, t]));
  const expected = signature.inputs.map((s) => s.name).join(', ');
  for (const t of inputs) {
    if (!signature.inputs.some((s) => s.name === t.name)) {
      fail('UNKNOWN_INPUT', `pipeline '${pipeline}' has no input '${t.name}'; its inputs are: ${expected}`);
    }
  }
  let rows: number | undefined;
  return signature.inputs.map((spec): Tensor => {
    const t = given.get(spec.name) ?? fail('MISSING_INPUT', `missing input '${spec.name}'; pipeline '${pipeline}' needs: ${expected}`);
    if (t.datatype !== spec.datatype) {
      fail('DATATYPE_MISMATCH', `input '${spec.name}' has datatype ${t.datatype}; pipeline '${pipeline}' expects ${spec.datatype}`);
    }
    const bad = t.shape.length !== spec.shape.length || spec.shape.some((d, i) => d >= 0 && d !== t.shape[i]);
    if (bad) fail('SHAPE_MISMATCH', `input '${spec.name}' has shape ${fmt(t.shape)}; pipeline '${pipeline}' expects ${fmt(spec.shape)} (-1: any size)`);
    if (spec.shape.length > 0 && spec.shape[0] < 0) {
      if (rows !== undefined && t.shape[0] !== rows) {
        fail('SHAPE_MISMATCH', `input '${spec.name}' has ${t.shape[0]} rows but the other inputs have ${rows}`);
      }
      rows = t.shape[0];
    }
    return t;
  });
}

/** Checks requested output names against the signature. */
export function checkOutputs(pipeline: string, signature: Signature, names: string[]): void {
  for (const n of names) {
    if (!signature.outputs.some((o) => o.name === n)) {
      fail('UNKNOWN_OUTPUT', `pipeline '${pipeline}' has no output '${n}'; its outputs are: ${signature.outputs.map((o) => o.name).join(', ')}`);
    }
  }
}
