/**
 * Python environments per requirements.txt: each distinct requirements.txt (with the interpreter)
 * gets its own package dir, built once, by content hash, and shared by every model that asks for
 * the same thing. A build runs in the sandbox with the network (the machine's pip configuration,
 * certificates and DNS mounted read-only) and only its own dir writable: `uv pip install --target`
 * when uv is installed beside the interpreter or on PATH, else `pip install --target`.
 * Steps then see the dir read-only before their base environment.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { type Mount, runSandboxed, type SandboxSettings } from '../sandbox/index.ts';

const BUILD_TIMEOUT_MS = 30 * 60_000;
/** What pip needs from the machine to reach its index as configured. */
const PIP_MOUNTS: Mount[] = ['/etc/pip.conf', '/etc/ssl', '/etc/ca-certificates', '/etc/resolv.conf', '/etc/hosts', '/etc/nsswitch.conf', '/opt/wheels']
  .map((p) => ({ host: p, inside: p, optional: true }));

export interface Environment {
  key: string;
  dir: string;
  /** The package dir steps put first on sys.path. */
  site: string;
  ready: boolean;
}

export function environmentOf(cache: string, exe: string, requirements: string): Environment {
  const key = crypto.createHash('sha256').update(`${exe}\n${requirements}`).digest('hex').slice(0, 32);
  const dir = path.join(cache, 'envs', key);
  return { key, dir, site: path.join(dir, 'site'), ready: fs.existsSync(path.join(dir, '.ready')) };
}

const builds = new Map<string, Promise<{ ok: boolean; log: string }>>();

/** Builds the environment once (concurrent askers share the build); a failed build is tried again next time. */
export function buildEnvironment(env: Environment, requirements: string, py: { exe: string; mounts: Mount[] }, settings: SandboxSettings): Promise<{ ok: boolean; log: string }> {
  let build = builds.get(env.key);
  if (!build) {
    build = (async () => {
      fs.rmSync(env.dir, { recursive: true, force: true });
      fs.mkdirSync(env.dir, { recursive: true, mode: 0o777 });
      fs.chmodSync(env.dir, 0o777); // written by the sandbox's own user
      fs.writeFileSync(path.join(env.dir, 'requirements.txt'), requirements, { mode: 0o644 });
      const pipEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('PIP_') || k.startsWith('UV_')) as [string, string][]);
      const uv = findUv(py.exe);
      const argv = uv
        ? ['/opt/uv', 'pip', 'install', '--python', py.exe, '--target', '/env/site', '-r', '/env/requirements.txt']
        : [py.exe, '-m', 'pip', 'install', '--no-cache-dir', '--disable-pip-version-check', '--target', '/env/site', '-r', '/env/requirements.txt'];
      const { code, output } = await runSandboxed({
        argv,
        mounts: [...py.mounts, ...PIP_MOUNTS, ...(uv ? [{ host: uv, inside: '/opt/uv' }] : []), { host: env.dir, inside: '/env', writable: true }],
        env: pipEnv,
      }, { ...settings, network: true, memoryMb: Math.max(settings.memoryMb ?? 0, 2048), cpuSeconds: 0 }, BUILD_TIMEOUT_MS);
      const log = `$ ${uv ? 'uv pip' : 'pip'} install --target <env> -r requirements.txt\n${output}`;
      fs.writeFileSync(path.join(env.dir, 'build.log'), log);
      if (code === 0) fs.writeFileSync(path.join(env.dir, '.ready'), '');
      fs.chmodSync(env.dir, 0o755); // built: nobody writes it any more
      return { ok: code === 0, log };
    })().finally(() => builds.delete(env.key));
    builds.set(env.key, build);
  }
  return build;
}

/** uv beside the interpreter or on PATH, where it can be mounted into the sandbox. */
function findUv(exe: string): string | undefined {
  const dirs = [path.dirname(exe), ...(process.env.PATH ?? '').split(':')];
  for (const d of dirs) {
    const f = path.join(d, 'uv');
    if (d && fs.existsSync(f)) return fs.realpathSync(f);
  }
  return undefined;
}
