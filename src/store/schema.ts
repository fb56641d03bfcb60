/** Table types for the query builder. JSON columns hold serialized text. */
import type { Generated } from 'kysely';

export interface WorkspaceTable {
  id: Generated<number>;
  name: string;
  created_at: number;
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

export interface InferenceLogTable {
  id: Generated<number>;
  workspace_id: number;
  pipeline_id: number;
  pipeline_version: number;
  time: number;
  request_id: string | null;
  /** JSON object: input name -> this row's value */
  inputs: string;
  /** JSON object: output name -> this row's value */
  outputs: string;
  /** JSON array of the model versions that answered */
  models: string;
  latency_ms: number;
  /** JSON object: request metadata */
  metadata: string;
  /** JSON object: challenger model -> its outputs for this row (or {error}) */
  shadow: Generated<string>;
  /** JSON array: names of the validations this row broke */
  anomalies: Generated<string>;
  anomaly_count: Generated<number>;
}

export interface Database {
  workspaces: WorkspaceTable;
  models: ModelTable;
  model_versions: ModelVersionTable;
  pipelines: PipelineTable;
  pipeline_versions: PipelineVersionTable;
  deployments: DeploymentTable;
  inference_logs: InferenceLogTable;
}
