/**
 * One long-lived worker process running one loaded custom step, and the calls in flight on it.
 * Calls are pipelined over the channel (one process per loaded step, never one per call). A call
 * past its timeout fails with STEP_TIMEOUT and the process is replaced; a process that dies
 * fails only the calls it held (STEP_OUT_OF_MEMORY when it ran out of memory) and is restarted
 * with backoff. A call that uses more CPU time than the deployment's `cpu_seconds` (measured
 * over the worker's process tree while the call runs) fails with STEP_TIMEOUT and the process
 * is replaced. Its stdout and stderr go to the server log, each line prefixed with the step.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { BettongError, type ErrorCode } from '../../errors/index.ts';
import { type Frame, FrameKind, FrameReader, encodeFrame } from './channel.ts';
import { processTreeCpuSeconds } from './cpu-time.ts';
import { DEFAULT_MEMORY_MB, type LaunchSpec, launchCommand, requireSandbox, type SandboxSettings } from './launch.ts';

/** Largest reply a worker may send (a batch's outputs). */
const MAX_FRAME_BYTES = 1024 * 1024 * 1024;
const MAX_BACKOFF_MS = 10_000;
/** A process that served this long before dying restarts at once (its backoff is reset). */
const HEALTHY_MS = 30_000;
const TAIL_LINES = 30;
const OUT_OF_MEMORY = /out of memory|allocation failed|MemoryError|Cannot allocate memory/i;
/** How often the CPU time of a call in flight is read, at most. */
const CPU_CHECK_MS = 100;

export interface WorkerOptions {
  /** The step (model:version), for log lines and messages. */
  name: string;
  spec: LaunchSpec;
  settings: SandboxSettings;
  loadTimeoutMs: number;
}

interface Pending {
  resolve: (payload: Uint8Array) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** Error codes a worker may report for a call; anything else is STEP_FAILED. */
const WORKER_CODES = new Set<ErrorCode>(['STEP_FAILED', 'STEP_OUT_OF_MEMORY']);

function parseError(payload: Uint8Array): { code: ErrorCode; message: string } {
  try {
    const e = JSON.parse(Buffer.from(payload).toString('utf8')) as { code?: string; message?: string };
    const code = WORKER_CODES.has(e.code as ErrorCode) ? (e.code as ErrorCode) : 'STEP_FAILED';
    return { code, message: String(e.message ?? 'failed') };
  } catch {
    return { code: 'STEP_FAILED', message: 'sent an unreadable error' };
  }
}

const signalName = (n: number) => Object.entries(os.constants.signals).find(([, v]) => v === n)?.[0] ?? `${n}`;

export class WorkerProcess {
  private child?: ChildProcess;
  private ready!: Promise<void>;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private loaded = false;
  private closed = false;
  private failures = 0;
  private startedAt = 0;
  /** Why we stopped the current process ourselves (its exit is then no surprise). */
  private stopping: string | undefined;
  private tail: string[] = [];
  /** CPU time of the process tree when the oldest call in flight began (a Python worker runs calls one at a time, in order). */
  private cpuAtCallStart = 0;
  private cpuCheck?: NodeJS.Timeout;
  /** The worker's hello once loaded: `{ signature }`. */
  hello: unknown;

  constructor(private readonly opts: WorkerOptions) {}

  /** Starts the process and waits for the step to load; INVALID_MODEL when it cannot. */
  async start(): Promise<this> {
    await requireSandbox(this.opts.settings);
    this.ready = this.spawn();
    await this.ready;
    this.loaded = true;
    return this;
  }

  private spawn(): Promise<void> {
    const cmd = launchCommand(this.opts.spec, this.opts.settings);
    const child = spawn(cmd.file, cmd.args, { uid: cmd.uid, gid: cmd.gid, env: cmd.env, cwd: cmd.cwd, stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    if (cmd.cwd) child.once('exit', () => fs.rmSync(cmd.cwd!, { recursive: true, force: true }));
    this.child = child;
    this.stopping = undefined;
    this.tail = [];
    this.startedAt = Date.now();
    for (const stream of [child.stdout!, child.stderr!]) this.logLines(stream);
    const channel = child.stdio[3] as unknown as Readable & Writable;
    channel.on('error', () => undefined);
    const reader = new FrameReader(MAX_FRAME_BYTES);

    return new Promise<void>((resolve, reject) => {
      let hello = false;
      const loadFailed = (why: string) => {
        clearTimeout(timer);
        reject(new BettongError('INVALID_MODEL', `the step failed to load: ${why}`));
        this.stop('it failed to load');
      };
      const timer = setTimeout(() => loadFailed(`it did not load within ${this.opts.loadTimeoutMs} ms`), this.opts.loadTimeoutMs);
      const onFrame = (f: Frame) => {
        if (!hello) {
          hello = true;
          if (f.kind === FrameKind.READY) {
            clearTimeout(timer);
            try {
              this.hello = JSON.parse(Buffer.from(f.payload).toString('utf8'));
              resolve();
            } catch {
              loadFailed('its worker sent an unreadable hello');
            }
          } else {
            loadFailed(f.kind === FrameKind.ERROR ? parseError(f.payload).message : 'its worker sent no hello');
          }
          return;
        }
        const p = this.pending.get(f.id);
        if (!p) return;
        this.pending.delete(f.id);
        clearTimeout(p.timer);
        this.callEnded(child);
        if (f.kind === FrameKind.RESULT) p.resolve(f.payload);
        else {
          const e = parseError(f.payload);
          p.reject(new BettongError(e.code, e.message));
        }
      };
      channel.on('data', (chunk: Buffer) => {
        if (this.child !== child) return;
        let frames: Frame[];
        try {
          frames = reader.push(chunk);
        } catch (e) {
          this.replace(`it sent an unreadable reply (${(e as Error).message})`);
          return;
        }
        for (const f of frames) onFrame(f);
      });
      child.on('error', (e) => loadFailed(`its worker process could not start: ${e.message}`));
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        // stderr may still hold the reason (an out-of-memory report): read it before judging.
        const judged = new Promise((r) => { child.stderr!.once('end', r); setTimeout(r, 200); });
        void judged.then(() => this.exited(child, code, signal, hello, loadFailed));
      });
    });
  }

  private logLines(stream: Readable): void {
    readline.createInterface({ input: stream, crlfDelay: Infinity }).on('line', (line) => {
      const text = line.length > 2000 ? `${line.slice(0, 2000)}...` : line;
      this.tail.push(text);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      process.stderr.write(`[step ${this.opts.name}] ${text}\n`);
    });
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null, hello: boolean, loadFailed: (why: string) => void): void {
    if (this.child !== child) return;
    // bubblewrap passes on a signal that killed the step as exit code 128 + its number.
    const sig = signal ?? (code !== null && code > 128 ? signalName(code - 128) : null);
    const how = sig ? `signal ${sig}` : `exit code ${code}`;
    if (!hello) {
      const last = this.tail.filter((l) => l.trim()).slice(-3).join(' | ');
      loadFailed(`its worker process stopped (${how})${last ? `: ${last}` : ''}`);
      if (!this.loaded || this.closed) return;
    } else if (this.stopping === undefined) {
      const s = this.opts.settings;
      if (this.tail.some((l) => OUT_OF_MEMORY.test(l))) {
        this.failAll('STEP_OUT_OF_MEMORY', `ran out of memory (its limit is ${s.memoryMb ?? DEFAULT_MEMORY_MB} MiB); its worker was restarted`);
      } else {
        this.failAll('STEP_FAILED', `its worker process stopped unexpectedly (${how}); it was restarted`);
      }
    } else {
      this.failAll('STEP_FAILED', `its worker was restarted after ${this.stopping}`);
    }
    if (this.closed || !this.loaded) return;
    this.restart();
  }

  /** A fresh process, after a pause that doubles with each failure in a row. */
  private restart(): void {
    if (Date.now() - this.startedAt > HEALTHY_MS) this.failures = 0;
    const delay = this.failures === 0 ? 0 : Math.min(100 * 2 ** (this.failures - 1), MAX_BACKOFF_MS);
    this.failures++;
    this.child = undefined;
    this.ready = new Promise<void>((r) => setTimeout(r, delay)).then(() => {
      if (this.closed) throw new BettongError('STEP_FAILED', 'the model was unloaded');
      return this.spawn();
    });
    this.ready.catch((e) => process.stderr.write(`[step ${this.opts.name}] could not restart: ${(e as Error).message}\n`));
  }

  /** Fails the calls in flight and starts a fresh process at once (a call timed out: the old one may spin forever). */
  private replace(why: string): void {
    const old = this.child;
    this.failAll('STEP_FAILED', `its worker was restarted after ${why}`);
    old?.kill('SIGKILL');
    if (this.closed || !this.loaded) return;
    this.restart();
  }

  private stop(why: string): void {
    if (!this.child || this.stopping !== undefined) return;
    this.stopping = why;
    this.child.kill('SIGKILL');
  }

  /** The CPU-time limit applies per call: the clock restarts for the next call in line. */
  private callStarted(child: ChildProcess): void {
    const limit = this.opts.settings.cpuSeconds;
    if (!limit || this.pending.size !== 1 || !child.pid) return;
    this.cpuAtCallStart = processTreeCpuSeconds(child.pid);
    this.cpuCheck ??= setInterval(() => this.checkCpu(child, limit), Math.min(CPU_CHECK_MS, limit * 100));
  }

  private callEnded(child: ChildProcess): void {
    if (!this.opts.settings.cpuSeconds || !child.pid) return;
    if (this.pending.size > 0) this.cpuAtCallStart = processTreeCpuSeconds(child.pid);
    else this.stopCpuCheck();
  }

  private checkCpu(child: ChildProcess, limit: number): void {
    if (this.child !== child || this.pending.size === 0) return this.stopCpuCheck();
    if (processTreeCpuSeconds(child.pid!) - this.cpuAtCallStart <= limit) return;
    this.stopCpuCheck();
    this.failAll('STEP_TIMEOUT', `used up its CPU-time limit (${limit} s) on one call; its worker was restarted`);
    this.replace('a call used up its CPU-time limit');
  }

  private stopCpuCheck(): void {
    clearInterval(this.cpuCheck);
    this.cpuCheck = undefined;
  }

  private failAll(code: ErrorCode, why: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new BettongError(code, why));
      this.pending.delete(id);
    }
  }

  /** Sends one call's payload and waits for the reply; STEP_TIMEOUT (and a fresh process) past `timeoutMs`. */
  async call(payload: Uint8Array, timeoutMs: number): Promise<Uint8Array> {
    // A restart replaces `ready`: wait until the process this call will use has loaded.
    for (;;) {
      const ready = this.ready;
      try {
        await ready;
      } catch (e) {
        throw new BettongError('STEP_FAILED', `its worker is not running: ${(e as Error).message}`);
      }
      if (ready === this.ready && this.child) break;
    }
    if (this.closed) throw new BettongError('STEP_FAILED', 'the model was unloaded');
    const child = this.child!;
    const id = this.nextId++;
    return new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new BettongError('STEP_TIMEOUT', `did not return within ${timeoutMs} ms`));
        if (this.child === child) this.replace('another call timed out');
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.callStarted(child);
      (child.stdio[3] as Writable).write(encodeFrame(id, FrameKind.PREDICT, payload));
    });
  }

  async dispose(): Promise<void> {
    this.closed = true;
    this.stopCpuCheck();
    this.failAll('STEP_FAILED', 'the model was unloaded');
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    this.stop('the model was unloaded');
    await gone;
  }
}
