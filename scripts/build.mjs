// Compiles src/ to JavaScript in dist/ (tsc, same layout) and copies the files the code finds
// beside itself at run time (the gRPC proto, worker entries): what `npm pack` ships.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

// Non-TypeScript files (but the tsx entries, which only a source checkout uses).
const SOURCE_ONLY = new Set(['replica-worker.mjs', 'write-thread.mjs']);
for (const entry of fs.readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || entry.name.endsWith('.ts') || SOURCE_ONLY.has(entry.name)) continue;
  const from = path.join(entry.parentPath, entry.name);
  const to = path.join(dist, path.relative(src, from));
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}
// The web console: static files (hashed assets and index.html) that the server serves at /.
const { buildConsole } = await import('../console/build.mjs');
for (const [name, contents] of Object.entries(await buildConsole())) {
  const to = path.join(dist, 'console', name);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.writeFileSync(to, contents);
}
console.log(`built ${path.relative(root, dist)}/`);
