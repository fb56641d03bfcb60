/** A one-shot command in the sandbox (an environment build): its exit code and its output, bounded. */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { type LaunchSpec, launchCommand, requireSandbox, type SandboxSettings } from './launch.ts';

const MAX_OUTPUT = 1024 * 1024;

export async function runSandboxed(spec: LaunchSpec, settings: SandboxSettings, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  await requireSandbox(settings);
  const cmd = launchCommand(spec, settings);
  return new Promise((resolve) => {
    const child = spawn(cmd.file, cmd.args, { uid: cmd.uid, gid: cmd.gid, env: cmd.env, cwd: cmd.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (d: Buffer) => { if (output.length < MAX_OUTPUT) output += d.toString(); };
    child.stdout!.on('data', take);
    child.stderr!.on('data', take);
    const timer = setTimeout(() => { output += `\n(stopped after ${timeoutMs} ms)\n`; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); resolve({ code: null, output: `${output}${e.message}\n` }); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (cmd.cwd) fs.rmSync(cmd.cwd, { recursive: true, force: true });
      resolve({ code, output });
    });
  });
}
