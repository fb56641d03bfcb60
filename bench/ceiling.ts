/**
 * The transport's ceiling, run by bench/serve.ts as a child process: a bare fastify server (the HTTP
 * framework Bettong's server is built on) on the same OIP route, answering every request with a
 * fixed, pre-serialized copy of a real Bettong response for that model. No decode, inference,
 * encode or logging: what is left is HTTP itself, plus fastify's default JSON body parser, which is
 * the least any JSON API server does with the same payload.
 *
 *   BENCH_CEILING_BODIES='{"<model>": "<response body>", ...}' node --import tsx bench/ceiling.ts
 */
import Fastify from 'fastify';

const bodies = JSON.parse(process.env.BENCH_CEILING_BODIES ?? '{}') as Record<string, string>;
const app = Fastify({ bodyLimit: 64 * 1024 * 1024 });
app.post<{ Params: { name: string } }>('/v2/models/:name/infer', async (req, reply) => {
  const body = bodies[req.params.name];
  if (body === undefined) return reply.code(404).send({ error: `no fixed answer for ${req.params.name}` });
  return reply.type('application/json').send(body);
});
console.log(`ceiling listening on ${await app.listen({ host: '127.0.0.1', port: 0 })}`);
