/** Assigning rows to A/B arms: weighted random, sticky by a hashed key, or by a key's value. */
import type { PipelineStep } from '../pipelines/index.ts';

/** FNV-1a over the UTF-8 bytes, scaled to [0, 1): stable across processes and restarts. */
export function unitHash(value: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(value, 'utf8')) h = Math.imul(h ^ b, 0x01000193);
  // One extra avalanche round so near-identical keys spread evenly.
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 2 ** 32;
}

/** Returns a function from a row's key value (or undefined) to an arm index. */
export function armChooser(step: Extract<PipelineStep, { kind: 'ab' }>): (key: unknown) => number {
  if (step.split === 'key') {
    const mapping = step.mapping ?? {};
    return (key) => (key === undefined || key === null ? step.default ?? 0 : mapping[String(key)] ?? step.default ?? 0);
  }
  const total = step.arms.reduce((s, a) => s + a.weight, 0);
  const cumulative = step.arms.map((_, i) => step.arms.slice(0, i + 1).reduce((s, a) => s + a.weight, 0) / total);
  const pick = (u: number) => {
    const i = cumulative.findIndex((c) => u < c);
    return i < 0 ? step.arms.length - 1 : i;
  };
  return (key) => pick(key === undefined || key === null ? Math.random() : unitHash(String(key)));
}
