/** What the inference engine hands the log for one request: its tensors and how it was answered. */
import type { Batch } from '../codecs/tensor.ts';
import type { ShadowOutcome, StepTrace } from '../inference/runner.ts';

export interface LogEntry {
  workspaceId: number;
  pipelineId: number;
  pipelineVersion: number;
  time: number;
  requestId?: string;
  inputs: Batch;
  outputs: Batch;
  /** Which model answered each row of each step. */
  trace: StepTrace[];
  /** Challengers' outputs, when the pipeline has shadow steps. */
  shadows?: ShadowOutcome[];
  /** Per row: the validations it broke. */
  anomalies: string[][];
  latencyMs: number;
  metadata: Record<string, unknown>;
}
