/** Per-request context shared by the route groups. */
import type { FastifyRequest } from 'fastify';
import { fail } from '../errors/index.ts';
import { parseTime } from '../time/index.ts';
import type {} from './auth.ts'; // the request's access grant

/** The workspace a request acts in, as authorized by the auth hook (server/auth.ts). Every object lives in one. */
export function workspaceOf(req: FastifyRequest): number {
  return req.access?.workspace?.id ?? fail('INTERNAL', `${req.method} ${req.routeOptions.url} declares no workspace permission`);
}

/** A time from the query string (epoch ms or ISO 8601), undefined when absent; a 400 naming `field` when invalid. */
export const queryTime = (v: string | undefined, field: string): number | undefined =>
  (v === undefined || v === '' ? undefined : parseTime(v, field));

export const nameParam = {
  type: 'object',
  properties: { name: { type: 'string' } },
  required: ['name'],
} as const;
