// Assays and performance monitors share a lifecycle: a definition scored window by window, paused and
// resumed, alerts delivered to a webhook. Their pages load and act on it the same way.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.ts';
import { Badge, Card, fmtTime, useCan, useLoad } from './ui.tsx';

interface Delivery<P> { id: number; status: string; attempts: number; http_status: number | null; last_error: string | null; created_at: string; payload: P }

/** One assay's or monitor's definition, window results and alert deliveries (refreshed every 15 s), and its pause/resume button. */
export function useWindowed<D extends { state: 'active' | 'paused' }, R, P>(kind: 'assays' | 'monitors', name: string) {
  const canWrite = useCan('write');
  const [error, setError] = useState<unknown>(null);
  const def = useLoad(() => api.get<D>(`/v1/${kind}/${enc(name)}`), [name], 15000);
  const res = useLoad(() => api.get<{ results: R[] }>(`/v1/${kind}/${enc(name)}/results`), [name], 15000);
  const alerts = useLoad(() => api.get<{ alerts: Delivery<P>[] }>(`/v1/${kind}/${enc(name)}/alerts`), [name], 15000);
  const d = def.data;
  const toggle = async () => {
    try { await api.post(`/v1/${kind}/${enc(name)}/${d!.state === 'active' ? 'pause' : 'resume'}`); def.reload(); } catch (e) { setError(e); }
  };
  return {
    definition: d,
    results: res.data?.results ?? [],
    alerts: alerts.data?.alerts ?? [],
    error: def.error ?? res.error ?? error,
    pauseButton: canWrite && d && <button type="button" class="btn" onClick={toggle}>{d.state === 'active' ? 'Pause' : 'Resume'}</button>,
  };
}

/** The alert deliveries card; `columns` are the kind's own, between the window status and the attempts. */
export function Deliveries<P extends { status?: string }>({ alerts, columns = [], none }: {
  alerts: Delivery<P>[]; columns?: [string, (p: P) => ComponentChildren][]; none: string;
}) {
  return (
    <Card title="Alert deliveries">
      {alerts.length ? (
        <table data-testid="alerts">
          <thead><tr><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Window status</th>{columns.map(([h]) => <th key={h} scope="col">{h}</th>)}<th scope="col">Attempts</th><th scope="col">HTTP</th><th scope="col">Last error</th></tr></thead>
          <tbody>{alerts.map((x) => (
            <tr key={x.id}><td>{fmtTime(x.created_at)}</td><td><Badge status={x.status} /></td><td><Badge status={x.payload?.status ?? null} /></td>{columns.map(([h, cell]) => <td key={h}>{cell(x.payload ?? ({} as P))}</td>)}<td>{x.attempts}</td><td>{x.http_status ?? '—'}</td><td>{x.last_error ?? '—'}</td></tr>
          ))}</tbody>
        </table>
      ) : <p class="muted">{none}</p>}
    </Card>
  );
}
