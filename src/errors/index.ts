/**
 * The one catalogue of error codes. Every error the platform returns carries one of
 * these stable codes; the status table is a Record so a code without a status fails
 * to compile.
 */
export const ErrorCodes = {
  INVALID_REQUEST: 'INVALID_REQUEST',
  INVALID_JSON: 'INVALID_JSON',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  ROUTE_NOT_FOUND: 'ROUTE_NOT_FOUND',
  METHOD_NOT_ALLOWED: 'METHOD_NOT_ALLOWED',
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HEADERS_TOO_LARGE: 'HEADERS_TOO_LARGE',
  // tensors and inference requests
  INVALID_TENSOR: 'INVALID_TENSOR',
  UNKNOWN_DATATYPE: 'UNKNOWN_DATATYPE',
  DATATYPE_MISMATCH: 'DATATYPE_MISMATCH',
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  DATA_LENGTH_MISMATCH: 'DATA_LENGTH_MISMATCH',
  MISSING_INPUT: 'MISSING_INPUT',
  UNKNOWN_INPUT: 'UNKNOWN_INPUT',
  UNKNOWN_OUTPUT: 'UNKNOWN_OUTPUT',
  // registry
  INVALID_NAME: 'INVALID_NAME',
  INVALID_MODEL: 'INVALID_MODEL',
  UNSUPPORTED_MODEL_OUTPUT: 'UNSUPPORTED_MODEL_OUTPUT',
  MODEL_NOT_FOUND: 'MODEL_NOT_FOUND',
  MODEL_VERSION_NOT_FOUND: 'MODEL_VERSION_NOT_FOUND',
  MODEL_NOT_READY: 'MODEL_NOT_READY',
  // pipelines and deployments
  PIPELINE_NOT_FOUND: 'PIPELINE_NOT_FOUND',
  PIPELINE_VERSION_NOT_FOUND: 'PIPELINE_VERSION_NOT_FOUND',
  PIPELINE_STEP_MISMATCH: 'PIPELINE_STEP_MISMATCH',
  PIPELINE_NOT_DEPLOYED: 'PIPELINE_NOT_DEPLOYED',
  INVALID_PIPELINE: 'INVALID_PIPELINE',
  INVALID_VALIDATION: 'INVALID_VALIDATION',
  STEP_FAILED: 'STEP_FAILED',
  STEP_TIMEOUT: 'STEP_TIMEOUT',
  STEP_OUT_OF_MEMORY: 'STEP_OUT_OF_MEMORY',
  SANDBOX_UNAVAILABLE: 'SANDBOX_UNAVAILABLE',
  REPLICA_FAILED: 'REPLICA_FAILED',
  // monitoring: assays
  ASSAY_NOT_FOUND: 'ASSAY_NOT_FOUND',
  ASSAY_EXISTS: 'ASSAY_EXISTS',
  INVALID_ASSAY: 'INVALID_ASSAY',
  UNKNOWN_COLUMN: 'UNKNOWN_COLUMN',
  INVALID_BIN_EDGES: 'INVALID_BIN_EDGES',
  INVALID_THRESHOLDS: 'INVALID_THRESHOLDS',
  BASELINE_TOO_SMALL: 'BASELINE_TOO_SMALL',
  WINDOW_TOO_WIDE: 'WINDOW_TOO_WIDE',
  WEBHOOK_NOT_ALLOWED: 'WEBHOOK_NOT_ALLOWED',
  // ground truth and performance monitors
  INVALID_FEEDBACK: 'INVALID_FEEDBACK',
  INVALID_MONITOR: 'INVALID_MONITOR',
  MONITOR_NOT_FOUND: 'MONITOR_NOT_FOUND',
  MONITOR_EXISTS: 'MONITOR_EXISTS',
  // access: workspaces, users, members, tokens, limits
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  PERMISSION_DENIED: 'PERMISSION_DENIED',
  WORKSPACE_NOT_FOUND: 'WORKSPACE_NOT_FOUND',
  WORKSPACE_EXISTS: 'WORKSPACE_EXISTS',
  WORKSPACE_ARCHIVED: 'WORKSPACE_ARCHIVED',
  USER_NOT_FOUND: 'USER_NOT_FOUND',
  USER_EXISTS: 'USER_EXISTS',
  MEMBER_NOT_FOUND: 'MEMBER_NOT_FOUND',
  LAST_OWNER: 'LAST_OWNER',
  TOKEN_NOT_FOUND: 'TOKEN_NOT_FOUND',
  TOKEN_EXISTS: 'TOKEN_EXISTS',
  RATE_LIMITED: 'RATE_LIMITED',
  // server side
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  // the data directory: a full disk, a read-only or vanished directory
  INSUFFICIENT_STORAGE: 'INSUFFICIENT_STORAGE',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  LOG_STORE_UNAVAILABLE: 'LOG_STORE_UNAVAILABLE',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const httpStatus: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  HEADERS_TOO_LARGE: 431,
  INVALID_TENSOR: 400,
  UNKNOWN_DATATYPE: 400,
  DATATYPE_MISMATCH: 400,
  SHAPE_MISMATCH: 400,
  DATA_LENGTH_MISMATCH: 400,
  MISSING_INPUT: 400,
  UNKNOWN_INPUT: 400,
  UNKNOWN_OUTPUT: 400,
  INVALID_NAME: 400,
  INVALID_MODEL: 422,
  UNSUPPORTED_MODEL_OUTPUT: 422,
  MODEL_NOT_FOUND: 404,
  MODEL_VERSION_NOT_FOUND: 404,
  MODEL_NOT_READY: 409,
  PIPELINE_NOT_FOUND: 404,
  PIPELINE_VERSION_NOT_FOUND: 404,
  PIPELINE_STEP_MISMATCH: 422,
  PIPELINE_NOT_DEPLOYED: 409,
  INVALID_PIPELINE: 422,
  INVALID_VALIDATION: 422,
  STEP_FAILED: 500,
  STEP_TIMEOUT: 504,
  STEP_OUT_OF_MEMORY: 500,
  SANDBOX_UNAVAILABLE: 503,
  REPLICA_FAILED: 503,
  ASSAY_NOT_FOUND: 404,
  ASSAY_EXISTS: 409,
  INVALID_ASSAY: 400,
  UNKNOWN_COLUMN: 400,
  INVALID_BIN_EDGES: 400,
  INVALID_THRESHOLDS: 400,
  BASELINE_TOO_SMALL: 422,
  WINDOW_TOO_WIDE: 422,
  WEBHOOK_NOT_ALLOWED: 422,
  INVALID_FEEDBACK: 400,
  INVALID_MONITOR: 400,
  MONITOR_NOT_FOUND: 404,
  MONITOR_EXISTS: 409,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  WORKSPACE_NOT_FOUND: 404,
  WORKSPACE_EXISTS: 409,
  WORKSPACE_ARCHIVED: 409,
  USER_NOT_FOUND: 404,
  USER_EXISTS: 409,
  MEMBER_NOT_FOUND: 404,
  LAST_OWNER: 409,
  TOKEN_NOT_FOUND: 404,
  TOKEN_EXISTS: 409,
  RATE_LIMITED: 429,
  INFERENCE_FAILED: 500,
  INSUFFICIENT_STORAGE: 507,
  STORAGE_UNAVAILABLE: 503,
  LOG_STORE_UNAVAILABLE: 503,
  INTERNAL: 500,
};

/** gRPC status codes by name (the numbers are fixed by gRPC itself, the same in every library). */
export const GrpcCode = {
  INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8, FAILED_PRECONDITION: 9, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16,
} as const;

/** The same catalogue as gRPC statuses (OIP over gRPC); a Record, so every code needs one. */
export const grpcStatus: Record<ErrorCode, number> = {
  INVALID_REQUEST: GrpcCode.INVALID_ARGUMENT,
  INVALID_JSON: GrpcCode.INVALID_ARGUMENT,
  UNSUPPORTED_MEDIA_TYPE: GrpcCode.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: GrpcCode.RESOURCE_EXHAUSTED,
  ROUTE_NOT_FOUND: GrpcCode.UNIMPLEMENTED,
  METHOD_NOT_ALLOWED: GrpcCode.UNIMPLEMENTED,
  REQUEST_TIMEOUT: GrpcCode.DEADLINE_EXCEEDED,
  HEADERS_TOO_LARGE: GrpcCode.RESOURCE_EXHAUSTED,
  INVALID_TENSOR: GrpcCode.INVALID_ARGUMENT,
  UNKNOWN_DATATYPE: GrpcCode.INVALID_ARGUMENT,
  DATATYPE_MISMATCH: GrpcCode.INVALID_ARGUMENT,
  SHAPE_MISMATCH: GrpcCode.INVALID_ARGUMENT,
  DATA_LENGTH_MISMATCH: GrpcCode.INVALID_ARGUMENT,
  MISSING_INPUT: GrpcCode.INVALID_ARGUMENT,
  UNKNOWN_INPUT: GrpcCode.INVALID_ARGUMENT,
  UNKNOWN_OUTPUT: GrpcCode.INVALID_ARGUMENT,
  INVALID_NAME: GrpcCode.INVALID_ARGUMENT,
  INVALID_MODEL: GrpcCode.INVALID_ARGUMENT,
  UNSUPPORTED_MODEL_OUTPUT: GrpcCode.INVALID_ARGUMENT,
  MODEL_NOT_FOUND: GrpcCode.NOT_FOUND,
  MODEL_VERSION_NOT_FOUND: GrpcCode.NOT_FOUND,
  MODEL_NOT_READY: GrpcCode.FAILED_PRECONDITION,
  PIPELINE_NOT_FOUND: GrpcCode.NOT_FOUND,
  PIPELINE_VERSION_NOT_FOUND: GrpcCode.NOT_FOUND,
  PIPELINE_STEP_MISMATCH: GrpcCode.INVALID_ARGUMENT,
  PIPELINE_NOT_DEPLOYED: GrpcCode.FAILED_PRECONDITION,
  INVALID_PIPELINE: GrpcCode.INVALID_ARGUMENT,
  INVALID_VALIDATION: GrpcCode.INVALID_ARGUMENT,
  STEP_FAILED: GrpcCode.INTERNAL,
  STEP_TIMEOUT: GrpcCode.DEADLINE_EXCEEDED,
  STEP_OUT_OF_MEMORY: GrpcCode.RESOURCE_EXHAUSTED,
  SANDBOX_UNAVAILABLE: GrpcCode.FAILED_PRECONDITION,
  REPLICA_FAILED: GrpcCode.UNAVAILABLE,
  ASSAY_NOT_FOUND: GrpcCode.NOT_FOUND,
  ASSAY_EXISTS: GrpcCode.ALREADY_EXISTS,
  INVALID_ASSAY: GrpcCode.INVALID_ARGUMENT,
  UNKNOWN_COLUMN: GrpcCode.INVALID_ARGUMENT,
  INVALID_BIN_EDGES: GrpcCode.INVALID_ARGUMENT,
  INVALID_THRESHOLDS: GrpcCode.INVALID_ARGUMENT,
  BASELINE_TOO_SMALL: GrpcCode.INVALID_ARGUMENT,
  WINDOW_TOO_WIDE: GrpcCode.INVALID_ARGUMENT,
  WEBHOOK_NOT_ALLOWED: GrpcCode.INVALID_ARGUMENT,
  INVALID_FEEDBACK: GrpcCode.INVALID_ARGUMENT,
  INVALID_MONITOR: GrpcCode.INVALID_ARGUMENT,
  MONITOR_NOT_FOUND: GrpcCode.NOT_FOUND,
  MONITOR_EXISTS: GrpcCode.ALREADY_EXISTS,
  UNAUTHENTICATED: GrpcCode.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcCode.PERMISSION_DENIED,
  WORKSPACE_NOT_FOUND: GrpcCode.NOT_FOUND,
  WORKSPACE_EXISTS: GrpcCode.ALREADY_EXISTS,
  WORKSPACE_ARCHIVED: GrpcCode.FAILED_PRECONDITION,
  USER_NOT_FOUND: GrpcCode.NOT_FOUND,
  USER_EXISTS: GrpcCode.ALREADY_EXISTS,
  MEMBER_NOT_FOUND: GrpcCode.NOT_FOUND,
  LAST_OWNER: GrpcCode.FAILED_PRECONDITION,
  TOKEN_NOT_FOUND: GrpcCode.NOT_FOUND,
  TOKEN_EXISTS: GrpcCode.ALREADY_EXISTS,
  RATE_LIMITED: GrpcCode.RESOURCE_EXHAUSTED,
  INFERENCE_FAILED: GrpcCode.INTERNAL,
  INSUFFICIENT_STORAGE: GrpcCode.RESOURCE_EXHAUSTED,
  STORAGE_UNAVAILABLE: GrpcCode.UNAVAILABLE,
  LOG_STORE_UNAVAILABLE: GrpcCode.UNAVAILABLE,
  INTERNAL: GrpcCode.INTERNAL,
};

export class BettongError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'BettongError';
    this.code = code;
    this.status = httpStatus[code];
  }
}

export const fail = (code: ErrorCode, message: string): never => {
  throw new BettongError(code, message);
};

/** Fastify's own error codes that a request can raise (its FST_ERR_* with a 4xx status), mapped onto the catalogue. */
const frameworkCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_VALIDATION: 'INVALID_REQUEST',
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: 'INVALID_REQUEST',
  FST_ERR_ROUTE_MISSING_CONTENT: 'INVALID_REQUEST',
  FST_ERR_BAD_URL: 'INVALID_REQUEST',
  FST_ERR_INVALID_URL: 'INVALID_REQUEST',
  // A path segment longer than the router takes, which is the longest name (server/app.ts).
  FST_ERR_MAX_PARAM_LENGTH: 'INVALID_NAME',
  FST_ERR_NOT_FOUND: 'ROUTE_NOT_FOUND',
};

/** Node's codes for requests it cannot parse as HTTP (answered before Fastify sees them). */
const clientErrorCodes: Record<string, ErrorCode> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
};

/** The catalogue's code for an error on a connection Node could not parse a request from. */
export const clientErrorCode = (code: string | undefined): ErrorCode => (code && clientErrorCodes[code]) || 'INVALID_REQUEST';

/**
 * Codes that can only mean the data directory or the database failed: a full disk, a read-only or
 * broken file system; PostgreSQL's SQLSTATEs for a full disk (53100), a lost or refused connection
 * (class 08), a server shutting down (57P01-03) and a read-only standby (25006).
 */
const FULL = /^(ENOSPC|EDQUOT|SQLITE_FULL|53100)$/;
const UNAVAILABLE = /^(EROFS|EIO|SQLITE_(READONLY|IOERR|CANTOPEN|CORRUPT|NOTADB|BUSY)(_\w+)?|08\d{3}|57P0[1-3]|25006)$/;

/**
 * PostgreSQL refuses text it cannot hold: a NUL character (\u0000) in a name, a value or JSON
 * (character_not_in_repertoire, untranslatable_character). SQLite stores it; on PostgreSQL it is the
 * caller's input, not a server fault.
 */
const UNSTORABLE_TEXT = /^(22021|22P05)$/;

const storageCode = (code: string): ErrorCode => (FULL.test(code) ? 'INSUFFICIENT_STORAGE' : 'STORAGE_UNAVAILABLE');

/** An error met while writing `what` to storage: INSUFFICIENT_STORAGE (507) for a full disk, else STORAGE_UNAVAILABLE (503). */
export function storageError(err: unknown, what: string): BettongError {
  if (err instanceof BettongError) return err;
  return new BettongError(storageCode((err as { code?: string })?.code ?? ''), `could not store ${what}: ${(err as Error)?.message ?? String(err)}`);
}

/** Turns anything thrown into a BettongError: the one normaliser. */
export function toBettongError(err: unknown): BettongError {
  if (err instanceof BettongError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  if (e && typeof e === 'object') {
    if (e.validation) return new BettongError('INVALID_REQUEST', e.message ?? 'invalid request');
    const mapped = e.code ? frameworkCodes[e.code] : undefined;
    if (mapped) return new BettongError(mapped, e.message ?? mapped);
    if (e instanceof SyntaxError) return new BettongError('INVALID_JSON', `malformed JSON: ${e.message}`);
    if (e.code && UNSTORABLE_TEXT.test(e.code)) {
      return new BettongError('INVALID_REQUEST', `text the database cannot store: ${e.message}`);
    }
    if (e.code && (FULL.test(e.code) || UNAVAILABLE.test(e.code))) return new BettongError(storageCode(e.code), `the data store failed: ${e.message} (${e.code})`);
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return new BettongError('INVALID_REQUEST', e.message ?? 'invalid request');
    }
  }
  return new BettongError('INTERNAL', e?.message ?? String(err));
}
