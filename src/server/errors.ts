/**
 * Every error the HTTP server answers, as `{error, code}`: thrown by a route, raised by Fastify
 * before routing (bad URL, a path segment too long), no route at all, or a request Node could
 * not parse. None answers in Fastify's own error shape.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BettongError, clientErrorCode, httpStatus, toBettongError } from '../errors/index.ts';
import { NAME_MAX_LENGTH } from '../registry/index.ts';
import { noteFailure } from './logging.ts';

/** The error handler: anything thrown becomes a catalogued code and its status. */
export function sendError(err: unknown, req: FastifyRequest, reply: FastifyReply): void {
  const e = toBettongError(err);
  noteFailure(req, err);
  const message = e.code === 'UNSUPPORTED_MEDIA_TYPE' && !e.message.includes("'")
    ? `content type '${req.headers['content-type']}' is not accepted here; send application/json (or application/octet-stream where binary is expected)`
    : e.message;
  void reply.status(e.status).send({ error: message, code: e.code });
}

/** Fastify's `frameworkErrors`: the errors it raises before a route is found. */
export function frameworkError(err: Error & { code?: string }, req: FastifyRequest, reply: FastifyReply): void {
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    // Every path parameter is a name (or a version number), so a longer segment names nothing.
    sendError(new BettongError('INVALID_NAME', `a path segment of ${req.url.split('?')[0]} is longer than ${NAME_MAX_LENGTH} characters, the most a name may have`), req, reply);
  } else if (err.code === 'FST_ERR_BAD_URL') {
    sendError(new BettongError('INVALID_REQUEST', `the URL ${req.url} is not valid: a path segment is badly percent-encoded`), req, reply);
  } else {
    sendError(err, req, reply);
  }
}

/** Fastify's `clientErrorHandler`: a request Node could not parse gets the same shape on the raw socket. */
export function clientError(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const code = clientErrorCode(err.code);
  const status = httpStatus[code];
  const body = JSON.stringify({ error: `the request could not be read as HTTP: ${err.message}`, code });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
