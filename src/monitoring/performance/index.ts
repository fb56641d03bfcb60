/** Performance monitoring: ground-truth labels joined to logged predictions, realised and estimated (CBPE) metrics per window. */
export { FeedbackService, type FeedbackReceipt, type UnmatchedLabels } from './feedback.ts';
export { MonitorService, type MonitorInfo, type MonitorPreview, type PreviewRequest as MonitorPreviewRequest, type StoredWindow } from './monitors.ts';
export type { MonitorDefinition, ResolvedMonitor } from './definition.ts';
export type { PerformanceWindow } from './evaluate.ts';
export { CSV, PARQUET, uploadRows } from './upload.ts';
