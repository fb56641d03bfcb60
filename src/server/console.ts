/**
 * Serves the web console (console/: static files) at `/`: index.html is never cached (it names the
 * current assets), the assets have content hashes in their names and are cached for good. A package
 * ships them built in dist/console; a source checkout builds them in memory on first use (esbuild).
 * The console is a client of the public REST API like any other: these routes serve files only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { fail } from '../errors/index.ts';

type Files = Record<string, Uint8Array>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.woff2': 'font/woff2',
};

let files: Promise<Files> | undefined;

function load(): Promise<Files> {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const built = path.join(here, '..', 'console');
  if (fs.existsSync(path.join(built, 'index.html'))) {
    const out: Files = {};
    for (const e of fs.readdirSync(built, { recursive: true, withFileTypes: true })) {
      if (e.isFile()) out[path.relative(built, path.join(e.parentPath, e.name)).split(path.sep).join('/')] = fs.readFileSync(path.join(e.parentPath, e.name));
    }
    return Promise.resolve(out);
  }
  // A source checkout: console/build.mjs beside src/ (not in a package, which has dist/console instead).
  const builder = path.join(here, '..', '..', 'console', 'build.mjs');
  return import(builder).then((m: { buildConsole(): Promise<Files> }) => m.buildConsole());
}

/** The console's files, built or read once per process. */
export function consoleFiles(): Promise<Files> {
  files ??= load();
  files.catch(() => { files = undefined; }); // a failed build is retried on the next request
  return files;
}

const gzipped = new WeakMap<Uint8Array, Buffer>();

/** The file as is, or gzipped once (and kept) for a client that accepts it. */
function send(req: FastifyRequest, reply: FastifyReply, body: Uint8Array, type: string) {
  void reply.header('content-type', type).header('vary', 'accept-encoding');
  if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.send(Buffer.from(body));
  let z = gzipped.get(body);
  if (!z) gzipped.set(body, (z = gzipSync(body, { level: 9 })));
  return reply.header('content-encoding', 'gzip').send(z);
}

export const consoleRoutes = () => async (app: FastifyInstance) => {
  const route = { config: { permission: 'public' as const }, schema: { hide: true } };

  app.get('/', route, async (req, reply) => {
    const f = await consoleFiles().catch((e: Error) => fail('INTERNAL', `the console could not be built: ${e.message}`));
    return send(req, reply.header('cache-control', 'no-cache'), f['index.html'], TYPES['.html']);
  });

  app.get<{ Params: { file: string } }>('/assets/:file', route, async (req, reply) => {
    const name = `assets/${req.params.file}`;
    const body = (await consoleFiles())[name] ?? fail('ROUTE_NOT_FOUND', `no console asset ${req.params.file}`);
    return send(req, reply.header('cache-control', 'public, max-age=31536000, immutable'), body, TYPES[path.extname(name)] ?? 'application/octet-stream');
  });
};
