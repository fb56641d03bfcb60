/** Drift monitoring: assays compare a baseline with rolling windows of logged inputs or outputs. */
export { AlertDispatcher, type AlertOptions } from './alerts.ts';
export { AssayService, type AlertDelivery, type AssayInfo, type PreviewRequest, type PreviewResult, type StoredResult } from './assays.ts';
export type { AssayDefinition, Metric, ResolvedDefinition } from './definition.ts';
export { AssayScheduler, type SchedulerOptions } from './scheduler.ts';
export type { WindowResult } from './score.ts';

import type { AlertOptions } from './alerts.ts';
import type { SchedulerOptions } from './scheduler.ts';

export interface MonitoringOptions extends SchedulerOptions {
  alerts?: AlertOptions;
  /**
   * Let alert webhooks reach private, loopback and link-local addresses (`bettong serve
   * --allow-private-webhooks`): for local setups and tests that receive alerts on this machine.
   */
  allowPrivateWebhooks?: boolean;
  /** How often a performance monitor's pending window is recomputed at the least (default 60 s). */
  recheckMs?: number;
  /** The clock assays run by (tests may drive it). */
  now?: () => number;
}
