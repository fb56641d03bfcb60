// Builds the web console (console/src, Preact + uPlot) into static files: hashed script and style
// assets plus an index.html that names them. scripts/build.mjs writes them to dist/console at
// package time; a source checkout's server builds them in memory at startup (src/server/console.ts).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Returns the console's files: { 'index.html': Uint8Array, 'assets/app-HASH.js': ..., ... }. */
export async function buildConsole() {
  const result = await esbuild.build({
    entryPoints: [path.join(here, 'src', 'main.tsx')],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    entryNames: 'assets/[name]-[hash]',
    assetNames: 'assets/[name]-[hash]',
    outdir: '/console',
    write: false,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const files = {};
  for (const f of result.outputFiles) files[path.relative('/console', f.path)] = f.contents;
  const script = Object.keys(files).find((f) => f.endsWith('.js'));
  const style = Object.keys(files).find((f) => f.endsWith('.css'));
  const html = (await import('node:fs')).readFileSync(path.join(here, 'index.html'), 'utf8')
    .replace('%STYLE%', `/${style}`).replace('%SCRIPT%', `/${script}`);
  files['index.html'] = new TextEncoder().encode(html);
  return files;
}
