/**
 * The API's shared JSON schemas (the OpenAPI components): what the resources look like on the wire.
 * Each is registered once (`app.addSchema`, by its $id) and routes point at it with `ref('Model')`.
 * They document answers; objects stay open (JSON Schema's default) so a new field is not a breaking change.
 */
import { STATUS_CODES } from 'node:http';
import { DATATYPES } from '../codecs/tensor.ts';
import { ErrorCodes } from '../errors/index.ts';
import { NAME } from '../registry/index.ts';

/** A reference to a shared schema by its $id, as Fastify and @fastify/swagger resolve it. */
export const ref = (id: SchemaId) => r(id);
const r = (id: string) => ({ $ref: `${id}#` }) as const;

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const bool = { type: 'boolean' } as const;
const num = { type: 'number' } as const;
const time = { type: 'string', format: 'date-time' } as const;
const nullable = <T extends { type: string }>(s: T) => ({ ...s, type: [s.type, 'null'] }) as const;
const obj = (properties: Record<string, unknown>, required: string[] = Object.keys(properties), extra: Record<string, unknown> = {}) =>
  ({ type: 'object', properties, required, ...extra }) as const;
const list = (items: unknown) => ({ type: 'array', items }) as const;
/**
 * A new model, pipeline, workspace, user, token or assay name. The services check it (INVALID_NAME, with
 * a message that says the rule); the document states the same rule as a pattern (`documentNames`).
 */
const NAME_RULE = "letters, digits, '_', '.', '-'; at most 128, starting with a letter or digit";
export const newName = { type: 'string', description: NAME_RULE } as const;
/** A reference to an existing model by name: whatever does not follow the name rule names nothing (404). */
const REF_RULE = `an existing model's name (${NAME_RULE})`;
export const modelName = { type: 'string', description: REF_RULE } as const;

/** A copy of a route schema for the document, with the name rule as a pattern wherever a name is taken or a model named. */
export function documentNames<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map(documentNames) as T;
  if (!schema || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, documentNames(v)]));
  const description = (copy as { description?: unknown }).description;
  return (description === NAME_RULE || description === REF_RULE ? { ...copy, pattern: NAME.source } : copy) as T;
}

const definitions = {
  Error: obj({
    error: { type: 'string', description: 'what went wrong, naming the field at fault' },
    code: { type: 'string', enum: Object.keys(ErrorCodes), description: 'stable code from the error catalogue' },
  }),
  TensorSpec: obj({ name: str, datatype: { type: 'string', enum: [...DATATYPES] }, shape: list(int) }),
  Signature: obj({ inputs: list(r('TensorSpec')), outputs: list(r('TensorSpec')) }),

  ModelVersion: obj({
    id: int, model: str, version: int, sha256: str, size: int, runtime: str, platform: str,
    signature: r('Signature'), created_at: time,
    network: { type: 'boolean', description: 'custom code may open network connections' },
    status: { type: 'string', enum: ['building', 'ready', 'failed'], description: "a Python model's environment build" },
    created: { type: 'boolean', description: 'upload answers only: false when identical content already was this version' },
  }, ['id', 'model', 'version', 'sha256', 'size', 'runtime', 'platform', 'signature', 'created_at']),
  ModelSummary: obj({ name: str, latest_version: int, versions: int, created_at: time }),
  Model: obj({ name: str, created_at: time, versions: list(r('ModelVersion')) }),

  PipelineStep: obj({ kind: { type: 'string', enum: ['model', 'ab', 'shadow'] } }, ['kind'], {
    description: 'a model step (model, model_version, sha256), an A/B step (split, arms) or a shadow step (champion, challengers)',
  }),
  PipelineVersion: obj({
    id: int, pipeline: str, version: int, steps: list(r('PipelineStep')),
    validations: { type: 'object', additionalProperties: str }, signature: r('Signature'), created_at: time,
    created: { type: 'boolean', description: 'create answers only: false when nothing changed and this is the existing latest version' },
  }, ['id', 'pipeline', 'version', 'steps', 'validations', 'signature', 'created_at']),
  PipelineSummary: obj({ name: str, latest_version: int, created_at: time }),
  DeploymentConfig: obj({ replicas: int, threads: int, step_timeout_ms: int, shadow_timeout_ms: int, max_batch_size: int, max_delay_ms: int }),
  ModelBuild: obj({ status: { type: 'string', enum: ['building', 'ready', 'failed'] }, log: str }),
  DeploymentStatus: obj({
    pipeline: str,
    pipeline_version: nullable(int),
    status: { type: 'string', enum: ['running', 'loading', 'failed', 'undeployed'] },
    config: { anyOf: [r('DeploymentConfig'), { type: 'null' }] },
    error: { type: 'string', description: 'why a failed deployment failed' },
    updated_at: nullable(time),
  }, ['pipeline', 'pipeline_version', 'status', 'config', 'updated_at']),
  Pipeline: obj({ name: str, latest: r('PipelineVersion'), versions: int, deployment: r('DeploymentStatus') }),

  LogPage: obj({
    records: list({ type: 'object', description: 'one inference: time, request id, pipeline and model versions, in.*, out.*, anomalies, latency, metadata' }),
    next_cursor: nullable(str),
  }),
  Comparison: obj({
    pipeline: str, start: int, end: int,
    groups: list(obj({ role: { type: 'string', enum: ['answer', 'shadow'] }, models: str, rows: int }, ['role', 'models', 'rows'])),
  }, ['pipeline', 'groups']),

  AssayWindowResult: obj({
    window: { type: 'object' }, count: int, metric: str, score: nullable(num), pvalue: num,
    status: { type: 'string', enum: ['ok', 'warning', 'alert', 'no_data'] }, bins: { type: 'object' },
  }, ['window', 'count', 'metric', 'score', 'status', 'bins']),
  AssayPreview: obj({ pipeline: str, target: str, definition: { type: 'object' }, baseline: { type: 'object' }, windows: list(r('AssayWindowResult')) }),
  Assay: obj({
    id: int, name: str, pipeline: str, target: str, metric: str, state: { type: 'string', enum: ['active', 'paused'] },
    window: { type: 'object' }, definition: { type: 'object' }, baseline: { type: 'object' }, next_window: { type: 'object' },
    last_result: nullable({ type: 'object' }), created_at: time,
  }),
  AssayResult: { allOf: [r('AssayWindowResult'), obj({ id: int, assay: str, created_at: time })] },
  AlertDelivery: obj({
    id: int, assay: str, result_id: int, url: str, status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: int, http_status: nullable(int), last_error: nullable(str), payload: {}, created_at: time, updated_at: time,
  }),

  FeedbackReceipt: obj({ pipeline: str, key: str, labels: list(str), received: int, replaced: int, matched: int, unmatched: int }),
  UnmatchedLabels: obj({ pipeline: str, count: int, labels: list(obj({ key: str, labels: { type: 'object' }, received_at: time })) }),
  MonitorWindowResult: obj({
    window: { type: 'object' }, metric: str, count: int, labelled: int, coverage: nullable(num), value: nullable(num),
    state: { type: 'string', enum: ['final', 'pending'] }, status: { type: 'string', enum: ['ok', 'warning', 'alert', 'no_data', 'pending'] },
    metrics: { type: 'object' }, estimated: { type: 'object', description: 'CBPE: estimated accuracy, F1, ROC AUC with bands' },
    arms: list({ type: 'object' }), challengers: list({ type: 'object' }),
  }, ['window', 'metric', 'count', 'labelled', 'coverage', 'value', 'state', 'status', 'metrics', 'arms', 'challengers']),
  MonitorPreview: obj({ pipeline: str, definition: { type: 'object' }, calibration: nullable({ type: 'object' }), windows: list(r('MonitorWindowResult')) }),
  Monitor: obj({
    id: int, name: str, pipeline: str, task: str, metric: str, state: { type: 'string', enum: ['active', 'paused'] },
    window: { type: 'object' }, definition: { type: 'object' }, calibration: nullable({ type: 'object' }), next_window: { type: 'object' },
    last_result: nullable({ type: 'object' }), created_at: time,
  }),
  MonitorResult: { allOf: [r('MonitorWindowResult'), obj({ id: int, monitor: str, created_at: time })] },
  MonitorAlertDelivery: obj({
    id: int, monitor: str, result_id: int, url: str, status: { type: 'string', enum: ['pending', 'delivered', 'failed'] },
    attempts: int, http_status: nullable(int), last_error: nullable(str), payload: {}, created_at: time, updated_at: time,
  }),

  Workspace: obj({
    id: int, name: str, archived: bool, archived_at: nullable(time), created_at: time,
    role: { type: ['string', 'null'], description: "the caller's role (platform admins who are not members: 'admin' in lists, null here)" },
  }, ['id', 'name', 'archived', 'archived_at', 'created_at']),
  User: obj({ id: int, name: str, admin: bool, created_at: time }),
  Member: obj({ user: str, role: { type: 'string', enum: ['owner', 'editor', 'viewer'] }, since: time }),
  Token: obj({
    id: int, name: str, user: str, workspace: nullable(str), inference_only: bool,
    expires_at: nullable(time), created_at: time, last_used_at: nullable(time), revoked_at: nullable(time),
  }),
  AuditRecord: obj({
    id: int, time, workspace: nullable(str), user: nullable(str), token: nullable(str), action: str, target: nullable(str),
    outcome: { type: 'string', enum: ['ok', 'refused', 'failed'] }, status: int, error: nullable(str), detail: { type: 'object' },
  }),
  AuditPage: obj({ records: list(r('AuditRecord')), next_cursor: nullable(str) }),

  // Open Inference Protocol v2
  OipTensor: obj({
    name: str, datatype: { type: 'string', enum: [...DATATYPES] }, shape: list(int),
    parameters: { type: 'object' }, data: { type: 'array', description: 'row-major, flat or nested; absent when sent as binary' },
  }, ['name', 'datatype', 'shape']),
  OipInferRequest: obj({
    id: str, parameters: { type: 'object' },
    inputs: list(r('OipTensor')),
    outputs: list(obj({ name: str, parameters: { type: 'object', properties: { binary_data: bool } } }, ['name'])),
  }, ['inputs']),
  OipInferResponse: obj({ model_name: str, model_version: str, id: str, parameters: { type: 'object' }, outputs: list(r('OipTensor')) }, ['model_name', 'outputs']),
  OipModelMetadata: obj({ name: str, versions: list(str), platform: str, inputs: list(r('TensorSpec')), outputs: list(r('TensorSpec')) }),
} as const;

export type SchemaId = keyof typeof definitions;

/** Every shared schema with its $id, for `app.addSchema`. */
export const sharedSchemas = () => Object.entries(definitions).map(([id, s]) => ({ $id: id, ...s }));

/** `{status: Error}` for each status, for a route's `response`. */
export const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { description: STATUS_CODES[s] ?? String(s), ...ref('Error') }]));

/** A list answer: `{<key>: [item]}`. */
export const listOf = (key: string, item: unknown) => obj({ [key]: list(item) });
