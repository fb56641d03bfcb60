/** The runtime registry: one entry per runtime folder. */
import { fail } from '../errors/index.ts';
import { jsRuntime } from './js/index.ts';
import { onnxRuntime } from './onnx/index.ts';
import { pythonRuntime } from './python/index.ts';
import type { Runtime } from './runtime.ts';

export type { EnvironmentBuild, Model, Runtime, RuntimeConfig, Signature, TensorSpec } from './runtime.ts';
export type { SandboxSettings } from './sandbox/index.ts';

const runtimes = new Map<string, Runtime>([onnxRuntime, jsRuntime, pythonRuntime].map((r) => [r.name, r]));

export const runtimeNames = () => [...runtimes.keys()];

export function getRuntime(name: string): Runtime {
  return runtimes.get(name) ?? fail('INVALID_MODEL', `unknown runtime '${name}'; known: ${[...runtimes.keys()].join(', ')}`);
}
