/** Where the Go tools the tests run (helm, weed) are: on PATH, or where scripts/lib.sh builds and caches them. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CACHE = path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'bettong', 'bin');

/** The tool's path; a missing tool throws, naming the script that builds it (the tests must not skip in CI). */
export function goTool(name: 'helm' | 'weed'): string {
  const cached = path.join(CACHE, name);
  if (fs.existsSync(cached)) return cached;
  try {
    return execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`${name} is not installed: scripts/test builds it (ensure_${name === 'weed' ? 'seaweedfs' : 'helm'} in scripts/lib.sh)`);
  }
}
