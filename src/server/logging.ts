/**
 * The server's log: structured JSON lines (pino, Fastify's own logger), one per HTTP request and one
 * per gRPC call, with the request id, route or method, status, duration and workspace; a failure
 * (5xx, gRPC INTERNAL and the like) carries the error with its stack. Never a header, a token or
 * a body: only the fields below are written.
 *
 * Fastify's own request logging (a line when a request comes in and another when it is answered) is
 * off: one line written when the answer is sent has everything both would, and half the volume.
 */
import crypto from 'node:crypto';
import { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import { type ErrorCode, toBettongError } from '../errors/index.ts';
import type { Grant } from '../access/index.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogOptions {
  /** Default 'info'; 'silent' writes nothing. */
  logLevel?: LogLevel;
  /** Where the JSON lines go (default: stdout). */
  logStream?: NodeJS.WritableStream;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The error a request failed with, kept by the error handler for its log line. */
    failure: { code: ErrorCode; error: unknown } | null;
  }
}

/** Fastify's logger settings: JSON to the stream, authorization headers redacted should anything log a request's headers. */
export function loggerOptions(opts: LogOptions): Pick<FastifyServerOptions, 'logger' | 'logController' | 'genReqId'> {
  return {
    logger: {
      level: opts.logLevel ?? 'info',
      ...(opts.logStream ? { stream: opts.logStream } : {}),
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'req.headers.cookie'], censor: '[redacted]' },
    },
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => crypto.randomUUID(),
  };
}

const workspaceOf = (grant: Grant | null | undefined) => grant?.workspace?.name ?? undefined;

/** Keeps a request's error for its log line (the error handler calls this). */
export function noteFailure(req: FastifyRequest, error: unknown): void {
  req.failure = { code: toBettongError(error).code, error };
}

/** One line per answered request. */
export function installRequestLog(app: FastifyInstance): void {
  app.decorateRequest('failure', null);
  app.addHook('onResponse', async (req: FastifyRequest, reply: FastifyReply) => {
    const status = reply.statusCode;
    const line: Record<string, unknown> = {
      transport: 'http', method: req.method, route: req.routeOptions.url ?? null, path: req.url.split('?')[0], status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100, workspace: workspaceOf(req.access),
    };
    if (req.failure) line.code = req.failure.code;
    if (status >= 500) req.log.error({ ...line, err: req.failure?.error }, 'request failed');
    else req.log.info(line, 'request');
  });
}

/** One line per gRPC call, as for HTTP requests; `error` when the call failed. */
export function logGrpcCall(log: FastifyBaseLogger, call: {
  reqId: string; method: string; grant: Grant | null; startedAt: number; status: string; error?: unknown;
}): void {
  const line: Record<string, unknown> = {
    reqId: call.reqId, transport: 'grpc', method: call.method, status: call.status,
    durationMs: Math.round((performance.now() - call.startedAt) * 100) / 100, workspace: workspaceOf(call.grant),
  };
  if (call.error === undefined) return log.info(line, 'call');
  const e = toBettongError(call.error);
  line.code = e.code;
  if (e.status >= 500) log.error({ ...line, err: call.error }, 'call failed');
  else log.info(line, 'call');
}
