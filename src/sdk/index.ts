/**
 * The typed Bettong client. The CLI talks to the server only through it; users can import
 * it too: `new BettongClient({ url: 'http://127.0.0.1:8080' })`.
 */
import type { DeploymentConfig, DeploymentStatus, SwapRequest } from '../deployments/index.ts';
import type { CompareGroup } from '../logs/compare.ts';
import type { RecentSummary } from '../observability/recent.ts';
import type { LogPage, LogQuery, LogRecord } from '../logs/query.ts';
import type { PipelineSummary, PipelineVersion, StepSpec } from '../pipelines/index.ts';
import type { ModelDetail, ModelSummary, ModelVersion } from '../registry/index.ts';
// assays
import type { AlertDelivery, AssayDefinition, AssayInfo, PreviewRequest, PreviewResult, StoredResult, WindowResult } from '../monitoring/index.ts';
export type { AlertDelivery, AssayDefinition, AssayInfo, PreviewRequest, PreviewResult, StoredResult, WindowResult };
// ground truth and performance monitors
import type {
  FeedbackReceipt, MonitorDefinition, MonitorInfo, MonitorPreview, MonitorPreviewRequest, PerformanceWindow, StoredWindow, UnmatchedLabels,
} from '../monitoring/performance/index.ts';
export type { FeedbackReceipt, MonitorDefinition, MonitorInfo, MonitorPreview, MonitorPreviewRequest, PerformanceWindow, StoredWindow, UnmatchedLabels };

// access
import type { AuditRecord, Member, Role, TokenInfo, User, Workspace } from '../access/index.ts';
export type { AuditRecord, Member, Role, TokenInfo, User, Workspace };

export type { RecentSummary };
export type { CompareGroup, DeploymentConfig, DeploymentStatus, LogPage, LogRecord, ModelDetail, ModelSummary, ModelVersion, PipelineSummary, PipelineVersion, StepSpec, SwapRequest };

export const DEFAULT_URL = 'http://127.0.0.1:8080';

/** An error answered by the server, with its stable code. */
export class BettongApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'BettongApiError';
  }
}

export interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}

export interface OipInferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: OipTensor[];
}

export interface PipelineInfo {
  name: string;
  latest: PipelineVersion;
  versions: number;
  deployment: DeploymentStatus;
}

export interface ClientOptions {
  /** Defaults to $BETTONG_URL, then http://127.0.0.1:8080. */
  url?: string;
  /** API token, sent as `Authorization: Bearer <token>`; defaults to $BETTONG_TOKEN. */
  token?: string;
  /** The workspace every call acts in, sent as the `Bettong-Workspace` header; defaults to $BETTONG_WORKSPACE, then the server's default. */
  workspace?: string;
}

type TimeLike = number | string | Date;
const timeParam = (t: TimeLike | undefined) => (t === undefined ? undefined : t instanceof Date ? String(t.getTime()) : String(t));

export class BettongClient {
  readonly url: string;
  readonly workspace: string | undefined;
  readonly #token: string | undefined;

  constructor(opts: ClientOptions = {}) {
    this.url = (opts.url ?? process.env.BETTONG_URL ?? DEFAULT_URL).replace(/\/+$/, '');
    this.#token = opts.token ?? (process.env.BETTONG_TOKEN || undefined);
    this.workspace = opts.workspace ?? (process.env.BETTONG_WORKSPACE || undefined);
  }

  /** The same server and token, acting in another workspace. */
  inWorkspace(workspace: string): BettongClient {
    return new BettongClient({ url: this.url, token: this.#token, workspace });
  }

  private async request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (this.#token) (init.headers as Record<string, string>).authorization = `Bearer ${this.#token}`;
    if (this.workspace) (init.headers as Record<string, string>)['bettong-workspace'] = this.workspace;
    if (body instanceof Uint8Array || body instanceof ReadableStream) {
      init.body = body as unknown as BodyInit;
      if (body instanceof ReadableStream) Object.assign(init, { duplex: 'half' }); // a streamed request body (fetch requires it)
      (init.headers as Record<string, string>)['content-type'] ??= 'application/octet-stream';
    } else if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(this.url + path, init);
    } catch (e) {
      throw new BettongApiError(0, 'UNREACHABLE', `cannot reach Bettong at ${this.url}: ${(e as Error).cause ?? (e as Error).message}`);
    }
    if (!res.ok) {
      const text = await res.text();
      let parsed: { error?: string; code?: string } = {};
      try { parsed = JSON.parse(text); } catch { /* not JSON */ }
      throw new BettongApiError(res.status, parsed.code ?? `HTTP_${res.status}`, parsed.error ?? (text || res.statusText));
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.request(method, path, body)).json() as Promise<T>;
  }

  // models

  /**
   * Registers an ONNX file, a JavaScript/TypeScript step module with `{ runtime: 'js' }`, or a Python model with `{ runtime: 'python' }`.
   * `onProgress` is told how many bytes were handed to the connection so far.
   */
  uploadModel(name: string, artifact: Uint8Array, opts: { runtime?: 'onnx' | 'js' | 'python'; network?: boolean; onProgress?: (sent: number, total: number) => void } = {}): Promise<ModelVersion & { created: boolean }> {
    const q = new URLSearchParams();
    if (opts.runtime) q.set('runtime', opts.runtime);
    if (opts.network) q.set('network', 'true');
    const query = q.size > 0 ? `?${q}` : '';
    return this.json('POST', `/v1/models/${encodeURIComponent(name)}${query}`, opts.onProgress ? chunked(artifact, opts.onProgress) : artifact);
  }
  /** A model version's environment build (Python requirements.txt): building, ready or failed, and its log. */
  modelBuild(name: string, version: number): Promise<{ status: 'ready' | 'building' | 'failed'; log: string }> {
    return this.json('GET', `/v1/models/${encodeURIComponent(name)}/versions/${version}/build`);
  }


  async listModels(): Promise<ModelSummary[]> {
    return (await this.json<{ models: ModelSummary[] }>('GET', '/v1/models')).models;
  }

  getModel(name: string): Promise<ModelDetail> {
    return this.json('GET', `/v1/models/${encodeURIComponent(name)}`);
  }

  async downloadModel(name: string, version: number): Promise<Uint8Array> {
    const res = await this.request('GET', `/v1/models/${encodeURIComponent(name)}/versions/${version}/artifact`);
    return new Uint8Array(await res.arrayBuffer());
  }

  // pipelines and deployments

  /** Steps run in order; validations are rules good rows satisfy (rows breaking one are flagged). */
  createPipeline(name: string, steps: StepSpec[], opts: { validations?: Record<string, string> } = {}): Promise<PipelineVersion & { created: boolean }> {
    return this.json('POST', '/v1/pipelines', { name, steps, ...opts });
  }

  async listPipelines(): Promise<PipelineSummary[]> {
    return (await this.json<{ pipelines: PipelineSummary[] }>('GET', '/v1/pipelines')).pipelines;
  }

  getPipeline(name: string): Promise<PipelineInfo> {
    return this.json('GET', `/v1/pipelines/${encodeURIComponent(name)}`);
  }

  async pipelineVersions(name: string): Promise<PipelineVersion[]> {
    return (await this.json<{ versions: PipelineVersion[] }>('GET', `/v1/pipelines/${encodeURIComponent(name)}/versions`)).versions;
  }

  deploy(name: string, opts: { version?: number } & Partial<DeploymentConfig> = {}): Promise<DeploymentStatus> {
    return this.json('POST', `/v1/pipelines/${encodeURIComponent(name)}/deploy`, opts);
  }

  /** Hot swap / promote: replace a step (or one arm of it) in the running pipeline. */
  swap(name: string, req: SwapRequest): Promise<DeploymentStatus & { swap_ms: number }> {
    return this.json('POST', `/v1/pipelines/${encodeURIComponent(name)}/swap`, req);
  }

  undeploy(name: string): Promise<DeploymentStatus> {
    return this.json('POST', `/v1/pipelines/${encodeURIComponent(name)}/undeploy`, {});
  }

  deploymentStatus(name: string): Promise<DeploymentStatus> {
    return this.json('GET', `/v1/pipelines/${encodeURIComponent(name)}/deployment`);
  }

  /** A pipeline's recent traffic: requests per second, error rate, latency percentiles over the last `windowS` seconds. */
  pipelineMetrics(name: string, windowS = 60): Promise<RecentSummary & { pipeline: string }> {
    return this.json('GET', `/v1/pipelines/${encodeURIComponent(name)}/metrics?window=${windowS}`);
  }

  async listDeployments(): Promise<DeploymentStatus[]> {
    return (await this.json<{ deployments: DeploymentStatus[] }>('GET', '/v1/deployments')).deployments;
  }

  // inference

  /** Records in (one object per row), records out with time, in.*, out.*. */
  inferRecords(name: string, records: Record<string, unknown>[], metadata?: Record<string, unknown>): Promise<LogRecord[]> {
    return this.json('POST', `/v1/pipelines/${encodeURIComponent(name)}/infer`, metadata ? { records, metadata } : records);
  }

  /** An Open Inference Protocol v2 JSON request. */
  infer(name: string, request: { id?: string; inputs: OipTensor[]; outputs?: { name: string }[]; parameters?: Record<string, unknown> }, version?: number): Promise<OipInferResponse> {
    const v = version === undefined ? '' : `/versions/${version}`;
    return this.json('POST', `/v2/models/${encodeURIComponent(name)}${v}/infer`, request);
  }

  // logs

  logs(name: string, q: Omit<LogQuery, 'start' | 'end'> & { start?: TimeLike; end?: TimeLike } = {}): Promise<LogPage> {
    const params = new URLSearchParams();
    const entries = { start: timeParam(q.start), end: timeParam(q.end), limit: q.limit?.toString(), cursor: q.cursor, anomaly: q.anomaly?.toString() };
    for (const [k, v] of Object.entries(entries)) if (v !== undefined) params.set(k, v);
    return this.json('GET', `/v1/pipelines/${encodeURIComponent(name)}/logs?${params}`);
  }

  /** Per arm / model version summaries over a time range, to pick a winner; with `monitor`, each group's realised performance too. */
  compare(name: string, q: { start?: TimeLike; end?: TimeLike; monitor?: string } = {}): Promise<{ pipeline: string; groups: CompareGroup[] }> {
    const params = new URLSearchParams();
    if (q.monitor) params.set('monitor', q.monitor);
    if (q.start !== undefined) params.set('start', timeParam(q.start)!);
    if (q.end !== undefined) params.set('end', timeParam(q.end)!);
    return this.json('GET', `/v1/pipelines/${encodeURIComponent(name)}/compare?${params}`);
  }

  /** Every matching record, page after page (a range reads chronologically). */
  async *iterateLogs(name: string, q: { start?: TimeLike; end?: TimeLike; pageSize?: number } = {}): AsyncGenerator<LogRecord> {
    let cursor: string | undefined;
    do {
      const page = await this.logs(name, { start: q.start, end: q.end, limit: q.pageSize ?? 1000, cursor });
      yield* page.records;
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
  }

  /** The server's JSON Lines export, as a byte stream (never held in memory whole). */
  async exportLogs(name: string, q: { start?: TimeLike; end?: TimeLike } = {}): Promise<ReadableStream<Uint8Array>> {
    const params = new URLSearchParams();
    if (q.start !== undefined) params.set('start', timeParam(q.start)!);
    if (q.end !== undefined) params.set('end', timeParam(q.end)!);
    const res = await this.request('GET', `/v1/pipelines/${encodeURIComponent(name)}/logs/export?${params}`);
    return res.body!;
  }

  // assays

  /** Runs an assay definition over past windows without saving it. */
  previewAssay(req: PreviewRequest): Promise<PreviewResult> {
    return this.json('POST', '/v1/assays/preview', req);
  }

  /** Saves an assay; it then runs by itself at each interval. */
  createAssay(name: string, definition: AssayDefinition): Promise<AssayInfo> {
    return this.json('POST', '/v1/assays', { name, ...definition });
  }

  async listAssays(): Promise<AssayInfo[]> {
    return (await this.json<{ assays: AssayInfo[] }>('GET', '/v1/assays')).assays;
  }

  getAssay(name: string): Promise<AssayInfo> {
    return this.json('GET', `/v1/assays/${encodeURIComponent(name)}`);
  }

  pauseAssay(name: string): Promise<AssayInfo> {
    return this.json('POST', `/v1/assays/${encodeURIComponent(name)}/pause`, {});
  }

  resumeAssay(name: string): Promise<AssayInfo> {
    return this.json('POST', `/v1/assays/${encodeURIComponent(name)}/resume`, {});
  }

  deleteAssay(name: string): Promise<{ deleted: string }> {
    return this.json('DELETE', `/v1/assays/${encodeURIComponent(name)}`);
  }

  /** Stored window results, chronological; start/end bound the window starts. */
  async assayResults(name: string, q: { start?: TimeLike; end?: TimeLike; limit?: number } = {}): Promise<StoredResult[]> {
    const params = new URLSearchParams();
    const entries = { start: timeParam(q.start), end: timeParam(q.end), limit: q.limit?.toString() };
    for (const [k, v] of Object.entries(entries)) if (v !== undefined) params.set(k, v);
    return (await this.json<{ results: StoredResult[] }>('GET', `/v1/assays/${encodeURIComponent(name)}/results?${params}`)).results;
  }

  async assayAlerts(name: string): Promise<AlertDelivery[]> {
    return (await this.json<{ alerts: AlertDelivery[] }>('GET', `/v1/assays/${encodeURIComponent(name)}/alerts`)).alerts;
  }

  // ground truth and performance monitors

  /**
   * Uploads ground-truth labels: rows as objects, or a file's bytes with its content type
   * (text/csv, application/vnd.apache.arrow.stream|file, application/vnd.apache.parquet).
   * `key`: 'request_id' (default; columns request_id and row) or 'metadata.<field>'.
   */
  addFeedback(pipeline: string, rows: Record<string, unknown>[] | Uint8Array, opts: { key?: string; label?: string[]; contentType?: string } = {}): Promise<FeedbackReceipt> {
    const params = new URLSearchParams();
    if (opts.key) params.set('key', opts.key);
    if (opts.label?.length) params.set('label', opts.label.join(','));
    const path = `/v1/pipelines/${encodeURIComponent(pipeline)}/feedback?${params}`;
    if (rows instanceof Uint8Array) {
      return this.request('POST', path, rows, { 'content-type': opts.contentType ?? 'text/csv' }).then((r) => r.json() as Promise<FeedbackReceipt>);
    }
    return this.json('POST', path, rows);
  }

  unmatchedFeedback(pipeline: string, limit?: number): Promise<UnmatchedLabels> {
    return this.json('GET', `/v1/pipelines/${encodeURIComponent(pipeline)}/feedback/unmatched${limit ? `?limit=${limit}` : ''}`);
  }

  previewMonitor(req: MonitorPreviewRequest): Promise<MonitorPreview> {
    return this.json('POST', '/v1/monitors/preview', req);
  }

  createMonitor(name: string, definition: MonitorDefinition & { alert?: { webhook: string; on?: 'alert' | 'warning' } }): Promise<MonitorInfo> {
    return this.json('POST', '/v1/monitors', { name, ...definition });
  }

  async listMonitors(): Promise<MonitorInfo[]> {
    return (await this.json<{ monitors: MonitorInfo[] }>('GET', '/v1/monitors')).monitors;
  }

  getMonitor(name: string): Promise<MonitorInfo> {
    return this.json('GET', `/v1/monitors/${encodeURIComponent(name)}`);
  }

  pauseMonitor(name: string): Promise<MonitorInfo> {
    return this.json('POST', `/v1/monitors/${encodeURIComponent(name)}/pause`, {});
  }

  resumeMonitor(name: string): Promise<MonitorInfo> {
    return this.json('POST', `/v1/monitors/${encodeURIComponent(name)}/resume`, {});
  }

  deleteMonitor(name: string): Promise<{ deleted: string }> {
    return this.json('DELETE', `/v1/monitors/${encodeURIComponent(name)}`);
  }

  /** A monitor's windows, chronological: final ones and the pending one (with its CBPE estimate). */
  async monitorResults(name: string, q: { start?: TimeLike; end?: TimeLike; limit?: number } = {}): Promise<StoredWindow[]> {
    const params = new URLSearchParams();
    const entries = { start: timeParam(q.start), end: timeParam(q.end), limit: q.limit?.toString() };
    for (const [k, v] of Object.entries(entries)) if (v !== undefined) params.set(k, v);
    return (await this.json<{ results: StoredWindow[] }>('GET', `/v1/monitors/${encodeURIComponent(name)}/results?${params}`)).results;
  }

  async monitorAlerts(name: string): Promise<unknown[]> {
    return (await this.json<{ alerts: unknown[] }>('GET', `/v1/monitors/${encodeURIComponent(name)}/alerts`)).alerts;
  }

  // access: workspaces, users, members, tokens, audit

  /** Who this client acts as: user, and its token (null in local mode). */
  whoami(): Promise<{ user: string; admin: boolean; token: { name: string; workspace: string | null; inference_only: boolean } | null }> {
    return this.json('GET', '/v1/whoami');
  }

  /** The workspaces this client's user can act in, with its role in each. */
  async listWorkspaces(): Promise<(Workspace & { role: string | null })[]> {
    return (await this.json<{ workspaces: (Workspace & { role: string | null })[] }>('GET', '/v1/workspaces')).workspaces;
  }

  /** A new workspace, owned by this client's user. */
  createWorkspace(name: string): Promise<Workspace> {
    return this.json('POST', '/v1/workspaces', { name });
  }

  renameWorkspace(name: string, to: string): Promise<Workspace> {
    return this.json('PATCH', `/v1/workspaces/${encodeURIComponent(name)}`, { name: to });
  }

  /** Archives a workspace: its pipelines are undeployed; it stays readable, nothing in it can change. */
  archiveWorkspace(name: string): Promise<Workspace> {
    return this.json('POST', `/v1/workspaces/${encodeURIComponent(name)}/archive`, {});
  }

  unarchiveWorkspace(name: string): Promise<Workspace> {
    return this.json('POST', `/v1/workspaces/${encodeURIComponent(name)}/unarchive`, {});
  }

  /** A new user (platform admins); give them a token with `createToken(name, { user })`. */
  createUser(name: string, opts: { admin?: boolean } = {}): Promise<User> {
    return this.json('POST', '/v1/users', { name, ...opts });
  }

  async listUsers(): Promise<User[]> {
    return (await this.json<{ users: User[] }>('GET', '/v1/users')).users;
  }

  /** Members of the current workspace. */
  async listMembers(): Promise<Member[]> {
    return (await this.json<{ members: Member[] }>('GET', '/v1/members')).members;
  }

  /** Adds a user to the current workspace, or changes their role. */
  addMember(user: string, role: Role): Promise<Member & { previous: Role | null }> {
    return this.json('POST', '/v1/members', { user, role });
  }

  removeMember(user: string): Promise<{ removed: string; role: Role }> {
    return this.json('DELETE', `/v1/members/${encodeURIComponent(user)}`);
  }

  /**
   * A new API token; `secret` is returned this once and never again. `workspace` limits it to one
   * workspace, `inferenceOnly` to inference endpoints, `expiresIn` ("30d", ms) or `expiresAt` in time.
   */
  createToken(name: string, opts: { workspace?: string; inferenceOnly?: boolean; expiresIn?: string | number; expiresAt?: TimeLike; user?: string } = {}): Promise<{ token: TokenInfo; secret: string }> {
    return this.json('POST', '/v1/tokens', {
      name, workspace: opts.workspace, inference_only: opts.inferenceOnly, expires_in: opts.expiresIn,
      expires_at: opts.expiresAt === undefined ? undefined : timeParam(opts.expiresAt), user: opts.user,
    });
  }

  /** Active tokens (never their secrets): this user's, another's (`user`, admins) or everyone's (`'*'`). */
  async listTokens(opts: { user?: string } = {}): Promise<TokenInfo[]> {
    const q = opts.user ? `?user=${encodeURIComponent(opts.user)}` : '';
    return (await this.json<{ tokens: TokenInfo[] }>('GET', `/v1/tokens${q}`)).tokens;
  }

  /** Revokes a token by name: refused from the next request on. */
  revokeToken(name: string, opts: { user?: string } = {}): Promise<{ revoked: string; user: string }> {
    const q = opts.user ? `?user=${encodeURIComponent(opts.user)}` : '';
    return this.json('DELETE', `/v1/tokens/${encodeURIComponent(name)}${q}`);
  }

  /** The current workspace's audit log, newest first (owners); `platform: true` reads platform events (admins). */
  audit(q: { start?: TimeLike; end?: TimeLike; action?: string; limit?: number; cursor?: string; platform?: boolean } = {}): Promise<{ records: AuditRecord[]; next_cursor: string | null }> {
    const params = new URLSearchParams();
    const entries = { start: timeParam(q.start), end: timeParam(q.end), action: q.action, limit: q.limit?.toString(), cursor: q.cursor };
    for (const [k, v] of Object.entries(entries)) if (v !== undefined) params.set(k, v);
    return this.json('GET', `/v1/audit${q.platform ? '/platform' : ''}?${params}`);
  }

  // server

  async live(): Promise<boolean> {
    return ((await this.json<{ live: boolean }>('GET', '/v2/health/live')).live) === true;
  }
}

/** The bytes as a stream of 1 MiB chunks, reporting how many were read so far. */
function chunked(bytes: Uint8Array, onProgress: (sent: number, total: number) => void): ReadableStream<Uint8Array> {
  const CHUNK = 1024 * 1024;
  let at = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (at >= bytes.length) {
        controller.close();
        return;
      }
      const next = Math.min(bytes.length, at + CHUNK);
      controller.enqueue(bytes.subarray(at, next));
      at = next;
      onProgress(at, bytes.length);
    },
  });
}
