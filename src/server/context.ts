/** Per-request context shared by the route groups. */
import type { FastifyRequest } from 'fastify';
import { DEFAULT_WORKSPACE_ID } from '../store/index.ts';

/** The workspace a request acts in. Every object lives in one; for now, the default. */
export function workspaceOf(_req: FastifyRequest): number {
  return DEFAULT_WORKSPACE_ID;
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
