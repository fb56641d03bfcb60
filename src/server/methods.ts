/**
 * The methods each path answers, so that a known path called with another method is told 405 and
 * what it allows (RFC 9110 §15.5.6), not 404 as if the path did not exist.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';

/** Records every route from now on; the returned function lists the methods a request path allows. */
function trackMethods(app: FastifyInstance): (url: string) => string[] {
  const router = FindMyWay();
  const methods = new Set<HTTPMethod>();
  app.addHook('onRoute', (route) => {
    for (const m of [route.method].flat() as HTTPMethod[]) {
      methods.add(m);
      if (!router.hasRoute(m, route.url)) router.on(m, route.url, () => {}, { params: (route.url.match(/[:*]/g) ?? []).length });
    }
  });
  return (url) => {
    const path = url.split('?')[0];
    const found = [...methods].map((m) => ({ m, route: router.find(m, path) })).filter((f) => f.route !== null);
    // The path's own resource: /v1/assays/preview allows POST, though GET /v1/assays/:name would take it too.
    const params = (f: (typeof found)[number]) => (f.route!.store as { params: number }).params;
    const fewest = Math.min(...found.map(params));
    return found.filter((f) => params(f) === fewest).map((f) => f.m).sort();
  };
}

/**
 * Answers requests no route takes: 405 with Allow when the path exists for other methods, else 404.
 * Install before the routes; returns the handler, for errors raised before routing finished.
 */
export function installNotFound(app: FastifyInstance): (req: FastifyRequest, reply: FastifyReply) => FastifyReply {
  const allowedMethods = trackMethods(app);
  const notFound = (req: FastifyRequest, reply: FastifyReply) => {
    const allowed = allowedMethods(req.url);
    if (allowed.length > 0) {
      return reply.status(405).header('allow', allowed.join(', '))
        .send({ error: `${req.method} is not allowed on ${req.url.split('?')[0]}; it allows ${allowed.join(', ')}`, code: 'METHOD_NOT_ALLOWED' });
    }
    return reply.status(404).send({ error: `no route ${req.method} ${req.url}`, code: 'ROUTE_NOT_FOUND' });
  };
  app.setNotFoundHandler(notFound);
  return notFound;
}
