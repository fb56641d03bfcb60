/**
 * How a custom-code worker process is started: inside bubblewrap (new user, mount, PID, network,
 * IPC and UTS namespaces; read-only system dirs, the step's own files and runtime, a private
 * scratch tmpfs; no /proc, no environment from the server) under resource limits (prlimit: data
 * memory, processes; CPU time is limited per call by worker-process.ts) and, when the server runs as root, as an unprivileged user of
 * its own. Unsandboxed mode (an explicit server flag) keeps the separate process and the limits
 * but not the isolation.
 */
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fail } from '../../errors/index.ts';

/** Server-wide and per-deployment settings for custom-code processes. */
export interface SandboxSettings {
  /** Run custom code without isolation (trusted code only): `--unsandboxed-custom-code`. */
  unsandboxed?: boolean;
  /** The bubblewrap executable (default: `bwrap` on PATH). */
  bwrap?: string;
  /** Data memory of one worker process, MiB (RLIMIT_DATA); past it the step fails with STEP_OUT_OF_MEMORY. */
  memoryMb?: number;
  /** CPU time one call may use in its worker process (with what it forks), s (0: none); past it STEP_TIMEOUT and the worker is restarted. */
  cpuSeconds?: number;
  /** Let the step open network connections (off: it has only its own loopback). */
  network?: boolean;
  /** The interpreter Python steps run with (its environment has pandas, numpy, pyarrow); default $BETTONG_PYTHON or python3. */
  python?: string;
  /**
   * Where Python environments (per requirements.txt) and the artifact copies workers read are
   * kept (`--cache-dir`); the server defaults it inside the data dir (src/platform.ts).
   */
  cacheDir?: string;
}

/** A host path the worker sees at `inside`: read-only unless `writable`; skipped when `optional` and missing. */
export interface Mount {
  host: string;
  inside: string;
  writable?: boolean;
  optional?: boolean;
}

export interface LaunchSpec {
  /** The command as the worker sees it (paths inside the sandbox). */
  argv: string[];
  mounts: Mount[];
  env?: Record<string, string>;
}

export const DEFAULT_MEMORY_MB = 1024;
/** Processes and threads one sandbox may hold: bounds a fork bomb (Node alone uses about 11). */
export const PROCESS_LIMIT = 128;
/** Size of the private scratch dir (/tmp, a tmpfs: it counts against the machine's memory). */
const SCRATCH_BYTES = 256 * 1024 * 1024;

const BASE_ENV = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: '/tmp', TMPDIR: '/tmp', LANG: 'C.UTF-8' };

/** System dirs the worker may read: /usr, and the merged-/usr links (or dirs) beside it. */
function systemArgs(): string[] {
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const dir of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let st: fs.Stats;
    try { st = fs.lstatSync(dir); } catch { continue; }
    if (st.isSymbolicLink()) args.push('--symlink', fs.readlinkSync(dir), dir);
    else if (st.isDirectory()) args.push('--ro-bind', dir, dir);
  }
  return args;
}

function limitArgs(s: SandboxSettings, sandboxed: boolean): string[] {
  // CPU time is limited per call, by the worker's host side (worker-process.ts), not over the process's life.
  const args = [`--data=${(s.memoryMb ?? DEFAULT_MEMORY_MB) * 1024 * 1024}`, '--core=0'];
  // RLIMIT_NPROC counts every process of the real user: only a user of the sandbox's own can carry it.
  if (sandboxed && process.getuid?.() === 0) args.push(`--nproc=${PROCESS_LIMIT}`);
  return args;
}

/** The executable, arguments and spawn options that start `spec` under the settings. */
export function launchCommand(spec: LaunchSpec, s: SandboxSettings): {
  file: string; args: string[]; uid?: number; gid?: number; env: Record<string, string>; cwd?: string;
} {
  const env = { ...BASE_ENV, ...spec.env };
  if (s.unsandboxed) {
    // The same process, limits and environment, a scratch dir of its own; paths are the host's own.
    const host = (p: string) => spec.mounts.reduce((q, m) => (q === m.inside || q.startsWith(`${m.inside}/`) ? m.host + q.slice(m.inside.length) : q), p);
    const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bettong-step-'));
    return { file: 'prlimit', args: [...limitArgs(s, false), '--', ...spec.argv.map(host)], env: { ...env, HOME: scratch, TMPDIR: scratch }, cwd: scratch };
  }
  const args = [
    ...limitArgs(s, true), '--', s.bwrap ?? 'bwrap',
    '--unshare-all', '--unshare-user', ...(s.network ? ['--share-net'] : []), '--disable-userns',
    '--die-with-parent', '--new-session', '--hostname', 'bettong-step',
    ...systemArgs(), '--dev', '/dev', '--size', String(SCRATCH_BYTES), '--tmpfs', '/tmp', '--chdir', '/tmp',
    ...spec.mounts.flatMap((m) => [`--${m.writable ? '' : 'ro-'}bind${m.optional ? '-try' : ''}`, m.host, m.inside]),
    '--clearenv', ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
    '--', ...spec.argv,
  ];
  // As root, the worker gets a user of its own (a fresh id: no file, process or limit is shared with it).
  const id = process.getuid?.() === 0 ? crypto.randomInt(1_000_000, 2_000_000_000) : undefined;
  return { file: 'prlimit', args, uid: id, gid: id, env: {} };
}

const probes = new Map<string, Promise<string | null>>();

/** Why the sandbox cannot start here (null: it works), checked once per bwrap path by starting one. */
function probe(s: SandboxSettings): Promise<string | null> {
  const key = s.bwrap ?? 'bwrap';
  let p = probes.get(key);
  if (!p) {
    p = new Promise((resolve) => {
      const cmd = launchCommand({ argv: ['/bin/true'], mounts: [] }, { bwrap: s.bwrap, memoryMb: 64 });
      let err = '';
      const child = spawn(cmd.file, cmd.args, { uid: cmd.uid, gid: cmd.gid, env: cmd.env, stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
      child.on('error', (e) => resolve(e.message));
      child.on('close', (code) => resolve(code === 0 ? null : (err.trim().split('\n').at(-1) || `it exited with code ${code}`)));
    });
    probes.set(key, p);
  }
  return p;
}

/** Throws SANDBOX_UNAVAILABLE, saying what to install, unless custom code can run under these settings. */
export async function requireSandbox(s: SandboxSettings): Promise<void> {
  if (s.unsandboxed) return;
  const why = await probe(s);
  if (why !== null) {
    fail('SANDBOX_UNAVAILABLE', `custom code runs only in a sandbox, and bubblewrap does not work here (${why}): ` +
      'install it (Debian/Ubuntu: apt-get install bubblewrap) and allow unprivileged user namespaces, ' +
      'or start the server with --unsandboxed-custom-code to run trusted code without isolation');
  }
}
