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
  // pipelines and deployments
  PIPELINE_NOT_FOUND: 'PIPELINE_NOT_FOUND',
  PIPELINE_VERSION_NOT_FOUND: 'PIPELINE_VERSION_NOT_FOUND',
  PIPELINE_STEP_MISMATCH: 'PIPELINE_STEP_MISMATCH',
  PIPELINE_NOT_DEPLOYED: 'PIPELINE_NOT_DEPLOYED',
  INVALID_PIPELINE: 'INVALID_PIPELINE',
  INVALID_VALIDATION: 'INVALID_VALIDATION',
  STEP_FAILED: 'STEP_FAILED',
  STEP_TIMEOUT: 'STEP_TIMEOUT',
  DEPLOYMENT_FAILED: 'DEPLOYMENT_FAILED',
  // monitoring: assays
  ASSAY_NOT_FOUND: 'ASSAY_NOT_FOUND',
  ASSAY_EXISTS: 'ASSAY_EXISTS',
  INVALID_ASSAY: 'INVALID_ASSAY',
  UNKNOWN_COLUMN: 'UNKNOWN_COLUMN',
  INVALID_BIN_EDGES: 'INVALID_BIN_EDGES',
  INVALID_THRESHOLDS: 'INVALID_THRESHOLDS',
  BASELINE_TOO_SMALL: 'BASELINE_TOO_SMALL',
  WINDOW_TOO_WIDE: 'WINDOW_TOO_WIDE',
  // server side
  INFERENCE_FAILED: 'INFERENCE_FAILED',
  SHUTTING_DOWN: 'SHUTTING_DOWN',
  INTERNAL: 'INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const httpStatus: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  INVALID_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  ROUTE_NOT_FOUND: 404,
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
  PIPELINE_NOT_FOUND: 404,
  PIPELINE_VERSION_NOT_FOUND: 404,
  PIPELINE_STEP_MISMATCH: 422,
  PIPELINE_NOT_DEPLOYED: 409,
  INVALID_PIPELINE: 422,
  INVALID_VALIDATION: 422,
  STEP_FAILED: 500,
  STEP_TIMEOUT: 504,
  DEPLOYMENT_FAILED: 500,
  ASSAY_NOT_FOUND: 404,
  ASSAY_EXISTS: 409,
  INVALID_ASSAY: 400,
  UNKNOWN_COLUMN: 400,
  INVALID_BIN_EDGES: 400,
  INVALID_THRESHOLDS: 400,
  BASELINE_TOO_SMALL: 422,
  WINDOW_TOO_WIDE: 422,
  INFERENCE_FAILED: 500,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
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

/** Fastify's own error codes that reach us, mapped onto the catalogue. */
const frameworkCodes: Record<string, ErrorCode> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_JSON',
  FST_ERR_CTP_INVALID_JSON_BODY: 'INVALID_JSON',
  FST_ERR_VALIDATION: 'INVALID_REQUEST',
};

/** Turns anything thrown into a BettongError: the one normaliser. */
export function toBettongError(err: unknown): BettongError {
  if (err instanceof BettongError) return err;
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: unknown };
  if (e && typeof e === 'object') {
    if (e.validation) return new BettongError('INVALID_REQUEST', e.message ?? 'invalid request');
    const mapped = e.code ? frameworkCodes[e.code] : undefined;
    if (mapped) return new BettongError(mapped, e.message ?? mapped);
    if (e instanceof SyntaxError) return new BettongError('INVALID_JSON', `malformed JSON: ${e.message}`);
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      return new BettongError('INVALID_REQUEST', e.message ?? 'invalid request');
    }
  }
  return new BettongError('INTERNAL', e?.message ?? String(err));
}
