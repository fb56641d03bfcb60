/** How one step's outputs feed the next step's inputs, checked when a pipeline is created. */
import { fail } from '../errors/index.ts';
import type { TensorSpec } from '../runtimes/index.ts';

/** next step's input name -> previous step's output name */
export type Wiring = Record<string, string>;

const names = (specs: TensorSpec[]) => specs.map((s) => `'${s.name}'`).join(', ');

function compatible(a: TensorSpec, b: TensorSpec): string | undefined {
  if (a.datatype !== b.datatype) return `${a.datatype} vs ${b.datatype}`;
  if (a.shape.length !== b.shape.length) return `rank ${a.shape.length} vs ${b.shape.length}`;
  for (let i = 0; i < a.shape.length; i++) {
    if (a.shape[i] >= 0 && b.shape[i] >= 0 && a.shape[i] !== b.shape[i]) return `shape ${JSON.stringify(a.shape)} vs ${JSON.stringify(b.shape)}`;
  }
  return undefined;
}

/**
 * By name when every input of the next step is an output of the previous one; otherwise by
 * position when the counts match; otherwise refused, naming the tensors.
 */
export function wire(prevLabel: string, prev: TensorSpec[], nextLabel: string, next: TensorSpec[]): Wiring {
  const byName = new Map(prev.map((s) => [s.name, s]));
  const pairs: [TensorSpec, TensorSpec][] = next.every((s) => byName.has(s.name))
    ? next.map((s) => [byName.get(s.name)!, s])
    : prev.length === next.length
      ? next.map((s, i) => [prev[i], s])
      : fail('PIPELINE_STEP_MISMATCH',
        `step ${nextLabel} needs inputs ${names(next)} but step ${prevLabel} gives outputs ${names(prev)}: ` +
        'names differ and counts do not match');
  const wiring: Wiring = {};
  for (const [out, inp] of pairs) {
    const why = compatible(out, inp);
    if (why) fail('PIPELINE_STEP_MISMATCH', `output '${out.name}' of step ${prevLabel} cannot feed input '${inp.name}' of step ${nextLabel}: ${why}`);
    wiring[inp.name] = out.name;
  }
  return wiring;
}
