/** Table types for the query builder. JSON columns hold serialized text. */
import type { Generated } from 'kysely';

export interface WorkspaceTable {
  id: Generated<number>;
  name: string;
  created_at: number;
  archived_at: number | null;
}

export interface ModelTable {
  id: Generated<number>;
  workspace_id: number;
  name: string;
  created_at: number;
}

export interface ModelVersionTable {
  id: Generated<number>;
  model_id: number;
  version: number;
  sha256: string;
  size: number;
  runtime: string;
  /** JSON Signature */
  signature: string;
  created_at: number;
  /** 1: custom code that may open network connections */
  network: Generated<number>;
  /** ready | building (its environment) | failed */
  status: Generated<string>;
  build_log: string | null;
}

/** Artifacts kept in the database (--artifacts database): content by its sha256. */
export interface ArtifactTable {
  sha256: string;
  size: number;
  bytes: Uint8Array;
  created_at: number;
}

export interface PipelineTable {
  id: Generated<number>;
  workspace_id: number;
  name: string;
  created_at: number;
}

export interface PipelineVersionTable {
  id: Generated<number>;
  pipeline_id: number;
  version: number;
  /** JSON PipelineDefinition: steps with resolved model version ids */
  definition: string;
  created_at: number;
}

export interface DeploymentTable {
  id: Generated<number>;
  workspace_id: number;
  pipeline_id: number;
  pipeline_version_id: number;
  /** JSON DeploymentConfig */
  config: string;
  /** desired state: 'deployed' | 'undeployed' */
  desired: string;
  updated_at: number;
}

/** Inference logs, columnar: one row per segment (a flush's rows of one pipeline version and column layout). */
export interface InferenceLogSegmentTable {
  id: Generated<number>;
  workspace_id: number;
  pipeline_id: number;
  pipeline_version: number;
  /** Time (epoch ms) of the segment's first and last row; rows are in time order within it. */
  time_min: number;
  time_max: number;
  rows: number;
  /** Rows that broke at least one validation. */
  anomaly_rows: number;
  /** JSON array of the distinct lists of answering models; column 'models' indexes it per row when it has several */
  models: string;
  /** JSON array, per request in row order: [rows, request_id, latency_ms, metadata] */
  requests: string;
  /** JSON array of ColumnSpec (logs/segments.ts): name, encoding, datatype, per-row shape */
  columns: string;
}

/** One column of one segment: typed values little-endian, rows x elements, or a UTF-8 JSON array. */
export interface InferenceLogColumnTable {
  segment_id: number;
  /** 'time' | 'models' | 'anomalies' | 'in.<input>' | 'out.<output>' | 'shadow.<model>.<output>' | 'shadow.<model>.error' */
  name: string;
  data: Buffer;
}

export interface AssayTable {
  id: Generated<number>;
  workspace_id: number;
  pipeline_id: number;
  name: string;
  /** JSON AssayDefinition (monitoring/assays.ts), static baseline values left out */
  definition: string;
  /** JSON BaselineProfile: binning, counts, proportions, summary statistics */
  profile: string;
  /** Sorted numeric baseline values, float64 little-endian, for metrics ks and wasserstein; null otherwise */
  baseline_sample: Buffer | null;
  /** 'active' | 'paused' */
  state: string;
  /** Index of the next window the scheduler runs */
  next_window: number;
  created_at: number;
  updated_at: number;
}

export interface AssayResultTable {
  id: Generated<number>;
  assay_id: number;
  window_index: number;
  window_start: number;
  window_end: number;
  count: number;
  score: number | null;
  /** 'ok' | 'warning' | 'alert' | 'no_data' */
  status: string;
  /** JSON WindowResult */
  result: string;
  created_at: number;
}

export interface AssayAlertTable {
  id: Generated<number>;
  assay_id: number;
  result_id: number;
  url: string;
  /** JSON body POSTed to the webhook */
  payload: string;
  /** 'pending' | 'delivered' | 'failed' */
  status: string;
  attempts: number;
  http_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export interface FeedbackLabelTable {
  id: Generated<number>;
  workspace_id: number;
  pipeline_id: number;
  /** request_id:row, or the caller's id logged with the request (monitoring/performance/keys.ts) */
  key: string;
  /** JSON object: label column -> value */
  labels: string;
  received_at: number;
  /** set when a later label for the same key replaced this one (kept as history) */
  replaced_at: number | null;
}

export interface PerformanceMonitorTable {
  id: Generated<number>;
  workspace_id: number;
  pipeline_id: number;
  name: string;
  /** JSON resolved MonitorDefinition (monitoring/performance/definition.ts) */
  definition: string;
  /** JSON CBPE calibration from the labelled reference period; null without one */
  calibration: string | null;
  /** 'active' | 'paused' */
  state: string;
  /** Index of the next window to finalise */
  next_window: number;
  created_at: number;
  updated_at: number;
}

export interface PerformanceResultTable {
  id: Generated<number>;
  monitor_id: number;
  window_index: number;
  window_start: number;
  window_end: number;
  count: number;
  labelled: number;
  value: number | null;
  /** 'ok' | 'warning' | 'alert' | 'no_data' */
  status: string;
  /** JSON PerformanceWindow */
  result: string;
  created_at: number;
}

export interface PerformanceAlertTable extends Omit<AssayAlertTable, 'assay_id'> {
  monitor_id: number;
}

export interface UserTable {
  id: Generated<number>;
  name: string;
  /** 1: platform admin (owner rights in every workspace, manages users) */
  admin: number;
  created_at: number;
}

export interface MemberTable {
  workspace_id: number;
  user_id: number;
  /** 'owner' | 'editor' | 'viewer' */
  role: string;
  created_at: number;
}

export interface TokenTable {
  id: Generated<number>;
  user_id: number;
  name: string;
  /** sha256 (hex) of the secret */
  hash: string;
  /** null: any workspace the user is a member of */
  workspace_id: number | null;
  inference_only: number;
  expires_at: number | null;
  created_at: number;
  last_used_at: number | null;
  revoked_at: number | null;
}

export interface AuditTable {
  id: Generated<number>;
  time: number;
  /** null: a platform event */
  workspace_id: number | null;
  user_id: number | null;
  user_name: string | null;
  token_name: string | null;
  action: string;
  target: string | null;
  /** 'ok' | 'refused' | 'failed' */
  outcome: string;
  status: number;
  error: string | null;
  /** JSON object */
  detail: Generated<string>;
}

/** Work one server of several does at a time (cluster/leases.ts). */
export interface LeaseTable {
  /** What is leased: 'assay:<id>', 'alert:<id>' */
  name: string;
  /** The server holding it (a random id per process) */
  owner: string;
  /** Epoch ms; past it anyone may take the lease */
  expires_at: number;
}

export interface Database {
  workspaces: WorkspaceTable;
  models: ModelTable;
  model_versions: ModelVersionTable;
  artifacts: ArtifactTable;
  pipelines: PipelineTable;
  pipeline_versions: PipelineVersionTable;
  deployments: DeploymentTable;
  inference_log_segments: InferenceLogSegmentTable;
  inference_log_columns: InferenceLogColumnTable;
  assays: AssayTable;
  assay_results: AssayResultTable;
  assay_alerts: AssayAlertTable;
  feedback_labels: FeedbackLabelTable;
  performance_monitors: PerformanceMonitorTable;
  performance_results: PerformanceResultTable;
  performance_alerts: PerformanceAlertTable;
  users: UserTable;
  members: MemberTable;
  tokens: TokenTable;
  audit_log: AuditTable;
  leases: LeaseTable;
}
