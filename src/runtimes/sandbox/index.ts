/** Sandboxed worker processes for custom code (JavaScript, Python): how they start and how the server talks to them. */
export { FrameKind, FrameReader, encodeFrame } from './channel.ts';
export { DEFAULT_MEMORY_MB, type LaunchSpec, type Mount, requireSandbox, type SandboxSettings } from './launch.ts';
export { WorkerProcess, type WorkerOptions } from './worker-process.ts';
export { checkSignature, ProcessModel } from './process-model.ts';
export { runSandboxed } from './run.ts';
