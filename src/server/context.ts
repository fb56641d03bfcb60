/** Per-request context shared by the route groups. */
import type { FastifyRequest } from 'fastify';
import { fail } from '../errors/index.ts';
import type {} from './auth.ts'; // the request's access grant

/** The workspace a request acts in, as authorized by the auth hook (server/auth.ts). Every object lives in one. */
export function workspaceOf(req: FastifyRequest): number {
  return req.access?.workspace?.id ?? fail('INTERNAL', `${req.method} ${req.routeOptions.url} declares no workspace permission`);
}

/** Accepts epoch milliseconds or an ISO 8601 time. */
export function parseTime(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^-?\d+$/.test(v)) return Number(v);
  const t = Date.parse(v);
  return Number.isNaN(t) ? NaN : t;
}

export const nameParam = {
  type: 'object',
  properties: { name: { type: 'string' } },
  required: ['name'],
} as const;
