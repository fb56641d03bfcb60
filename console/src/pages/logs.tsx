// Inference logs: a pipeline's logged inferences by time range, with the anomaly filter, paging by
// cursor, in./out./shadow./metadata columns (tensors summarised, expandable) and CSV / JSON Lines export.
import { useState } from 'preact/hooks';
import { api, download, enc, q } from '../api.ts';
import { Card, Empty, ErrorNote, Loading, PageHead, fmtTime, useLoad } from '../ui.tsx';

type Row = Record<string, unknown>;
const RANGES = { '15m': 15 * 60_000, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, all: 0 } as const;

export function PipelinePicker({ current, to, label = 'Pipeline' }: { current?: string; to: string; label?: string }) {
  const list = useLoad(() => api.get<{ pipelines: { name: string }[] }>('/v1/pipelines'), []);
  return (
    <div class="field">
      <label for="pick-pipeline">{label}</label>
      <select id="pick-pipeline" value={current ?? ''} onChange={(e) => { location.hash = `#/${to}/${enc((e.target as HTMLSelectElement).value)}`; }}>
        <option value="" disabled>Choose a pipeline…</option>
        {list.data?.pipelines.map((p) => <option key={p.name} value={p.name}>{p.name}</option>)}
      </select>
    </div>
  );
}

/** A tensor cell: its shape and first values; the whole value on demand. */
function Cell({ v }: { v: unknown }) {
  if (v === null || v === undefined) return <span class="muted">—</span>;
  if (Array.isArray(v) || (typeof v === 'object')) {
    const flat = Array.isArray(v) ? (v as unknown[]).flat(8) : [];
    const text = JSON.stringify(v);
    if (text.length <= 40) return <code>{text}</code>;
    const head = Array.isArray(v) ? `[${(v as unknown[]).length}] ${flat.slice(0, 3).map((x) => (typeof x === 'number' ? +x.toPrecision(4) : JSON.stringify(x))).join(', ')}, …` : `${text.slice(0, 36)}…`;
    return <details class="tensor"><summary>{head}</summary><code>{text}</code></details>;
  }
  if (typeof v === 'number') return <>{Number.isInteger(v) ? v : +v.toPrecision(5)}</>;
  return <>{String(v)}</>;
}

const ORDER = (k: string) => (k === 'time' ? 0 : k.startsWith('in.') ? 1 : k.startsWith('out.') ? 2 : k.startsWith('shadow.') ? 3 : k.startsWith('anomaly') ? 4 : 5);

function toCsv(jsonl: string): string {
  const rows = jsonl.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Row);
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].sort((a, b) => ORDER(a) - ORDER(b));
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : k(v);
    return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
  };
  const k = (v: unknown) => (typeof v === 'number' ? String(v) : String(v));
  return [cols.join(','), ...rows.map((r) => cols.map((c) => cell(c === 'time' ? new Date(r[c] as number).toISOString() : r[c])).join(','))].join('\n') + '\n';
}

export function LogsPage({ pipeline }: { pipeline?: string }) {
  const [range, setRange] = useState<keyof typeof RANGES>('24h');
  const [anomaly, setAnomaly] = useState<'' | 'true' | 'false'>('');
  const [limit, setLimit] = useState(25);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [stamp, setStamp] = useState(() => Date.now());
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors.at(-1);
  const filters = { start: RANGES[range] ? stamp - RANGES[range] : undefined, end: RANGES[range] ? stamp + 1 : undefined, anomaly: anomaly || undefined };
  const page = useLoad(async () => (pipeline
    ? api.get<{ records: Row[]; next_cursor: string | null }>(`/v1/pipelines/${enc(pipeline)}/logs${q({ ...filters, limit, cursor })}`)
    : undefined), [pipeline, range, anomaly, limit, cursor, stamp]);
  const reset = () => { setCursors([undefined]); setStamp(Date.now()); };
  const rows = page.data?.records ?? [];
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((c) => c !== 'metadata.request_id').sort((a, b) => ORDER(a) - ORDER(b));
  const exportAs = (fmt: 'csv' | 'jsonl') => download(`/v1/pipelines/${enc(pipeline!)}/logs/export${q(filters)}`, `${pipeline}-logs.${fmt}`, fmt === 'csv' ? toCsv : undefined).catch(setError);
  return (
    <>
      <PageHead title="Inference logs" sub="Every inference: inputs, outputs, shadow outputs, validation flags, latency and request metadata." />
      <Card>
        <form class="form-row" aria-label="Log filters" onSubmit={(e) => { e.preventDefault(); reset(); }}>
          <PipelinePicker current={pipeline} to="logs" />
          <div class="field"><label for="l-range">Time range</label>
            <select id="l-range" value={range} onChange={(e) => { setRange((e.target as HTMLSelectElement).value as keyof typeof RANGES); reset(); }}>
              <option value="15m">Last 15 minutes</option><option value="1h">Last hour</option><option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="all">All time</option>
            </select></div>
          <div class="field"><label for="l-anomaly">Rows</label>
            <select id="l-anomaly" value={anomaly} onChange={(e) => { setAnomaly((e.target as HTMLSelectElement).value as typeof anomaly); reset(); }}>
              <option value="">All rows</option><option value="true">Only anomalies (broke a validation)</option><option value="false">Only rows without anomalies</option>
            </select></div>
          <div class="field"><label for="l-limit">Page size</label>
            <select id="l-limit" value={limit} onChange={(e) => { setLimit(Number((e.target as HTMLSelectElement).value)); reset(); }}>{[25, 100, 500].map((n) => <option key={n} value={n}>{n}</option>)}</select></div>
          <button class="btn" type="submit">Refresh</button>
          {pipeline && <div class="actions push">
            <button type="button" class="btn" onClick={() => exportAs('csv')}>Export CSV</button>
            <button type="button" class="btn" onClick={() => exportAs('jsonl')}>Export JSON Lines</button>
          </div>}
        </form>
      </Card>
      <ErrorNote error={page.error ?? error} />
      {!pipeline ? <Card><Empty title="Choose a pipeline"><p>Pick a pipeline above to see its inference logs.</p></Empty></Card>
        : page.loading && !page.data ? <Loading />
        : rows.length === 0 ? <Card><Empty title="No inferences in this range"><p>Send traffic to <code>POST /v1/pipelines/{pipeline}/infer</code>, or widen the time range or filter.</p></Empty></Card>
        : <Card title={`Page ${cursors.length} · ${rows.length} rows`} actions={<>
            <button type="button" class="btn" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
            <button type="button" class="btn" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data!.next_cursor!])}>Older →</button>
          </>}>
            <div class="scroll" tabIndex={0} role="region" aria-label="Log rows">
              <table class="logs" data-testid="log-table">
                <thead><tr>{cols.map((c) => <th scope="col" key={c} class={`col-${c.split('.')[0]}`}>{c}</th>)}</tr></thead>
                <tbody>{rows.map((r, i) => (
                  <tr key={i} class={(r['anomaly.count'] as number) > 0 ? 'anomalous' : undefined}>
                    {cols.map((c) => <td key={c}>{c === 'time' ? fmtTime(r[c] as number) : c === 'metadata.models' ? (r[c] as { name: string; version: number }[]).map((m) => `${m.name}:${m.version}`).join(' → ') : <Cell v={r[c]} />}</td>)}
                  </tr>
                ))}</tbody>
              </table>
            </div>
          </Card>}
    </>
  );
}
