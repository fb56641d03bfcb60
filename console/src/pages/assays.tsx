// Assays: drift monitors over a pipeline's logged inputs or outputs. The list with each one's last
// status; one assay's score over time with its thresholds, each window's baseline vs window
// histograms, pause/resume and alert deliveries; a form that previews an assay before saving it.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, enc, q } from '../api.ts';
import { BarChart, LineChart, PALETTE } from '../charts.tsx';
import { Badge, Card, Empty, ErrorNote, Loading, PageHead, fmtNum, fmtTime, useCan, useLoad } from '../ui.tsx';
import { Deliveries, useWindowed } from '../windowed.tsx';

interface Win { index: number; start: number; end: number }
interface Bins { labels: string[]; baseline: number[]; window: number[] }
interface WindowResult { window: Win; count: number; score: number | null; status: string; bins: Bins }
interface Assay {
  name: string; pipeline: string; target: string; metric: string; state: 'active' | 'paused';
  window: { width: string; interval: string }; definition: { thresholds?: { warning?: number; alert?: number }; alert?: { webhook: string; on: string } | null; binning?: { mode: string; bins: number } };
  next_window: Win; last_result: { window: Win; score: number | null; status: string } | null; created_at: string;
}


export function AssaysPage() {
  const canWrite = useCan('write');
  const list = useLoad(() => api.get<{ assays: Assay[] }>('/v1/assays'), [], 15000);
  return (
    <>
      <PageHead title="Assays" sub="Drift monitors: a baseline compared with rolling windows of logged inputs or outputs."
        actions={canWrite && <a class="btn btn-primary" href="#/assays/new">New assay</a>} />
      <Card>
        <ErrorNote error={list.error} />
        {list.loading && !list.data ? <Loading /> : list.data?.assays.length === 0 ? (
          <Empty title="No assays yet">
            <p>{canWrite ? <>Create one with <a href="#/assays/new">New assay</a>: pick a pipeline's input or output, a baseline, and a window; the preview shows how it would have scored.</> : 'An editor or owner can create one.'}</p>
          </Empty>
        ) : (
          <table>
            <thead><tr><th scope="col">Assay</th><th scope="col">Pipeline</th><th scope="col">Target</th><th scope="col">Metric</th><th scope="col">Window</th><th scope="col">State</th><th scope="col">Last status</th><th scope="col">Last score</th></tr></thead>
            <tbody>{list.data?.assays.map((a) => (
              <tr key={a.name}>
                <td><a href={`#/assays/${enc(a.name)}`}>{a.name}</a></td><td>{a.pipeline}</td><td><code>{a.target}</code></td><td>{a.metric}</td>
                <td>{a.window.width} every {a.window.interval}</td><td><Badge status={a.state} /></td>
                <td><Badge status={a.last_result?.status ?? 'pending'} /></td><td>{fmtNum(a.last_result?.score)}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      </Card>
    </>
  );
}

/** Score per window with the warning and alert thresholds as lines; picking a point selects the window. */
function ScoreChart({ title, results, thresholds, onPick }: { title: string; results: WindowResult[]; thresholds?: { warning?: number; alert?: number }; onPick?: (i: number) => void }) {
  const x = useMemo(() => results.map((r) => r.window.start / 1000), [results]);
  const series = useMemo(() => [{ label: 'score', values: results.map((r) => r.score) }], [results]);
  const lines = useMemo(() => [
    ...(thresholds?.warning !== undefined ? [{ label: 'warning', value: thresholds.warning, color: '#d97706' }] : []),
    ...(thresholds?.alert !== undefined ? [{ label: 'alert', value: thresholds.alert, color: '#dc2626' }] : []),
  ], [thresholds?.warning, thresholds?.alert]);
  return <LineChart testId="score-chart" title={title} x={x} series={series} lines={lines} onPick={onPick} />;
}

function Histograms({ r }: { r: WindowResult }) {
  const max = Math.max(...r.bins.baseline, ...r.bins.window, 0.01) * 1.1;
  return (
    <div class="grid-hist" data-testid="histograms">
      <BarChart title="Baseline" labels={r.bins.labels} values={r.bins.baseline} max={max} color={PALETTE[0]} />
      <BarChart title={`Window ${fmtTime(r.window.start)} – ${new Date(r.window.end).toLocaleTimeString()} (${r.count} values)`} labels={r.bins.labels} values={r.bins.window} max={max} color={PALETTE[1]} />
    </div>
  );
}

function WindowTable({ results, selected, onPick }: { results: WindowResult[]; selected: number; onPick: (i: number) => void }) {
  return (
    <div class="scroll short" tabIndex={0} role="region" aria-label="Windows">
      <table>
        <thead><tr><th scope="col">Window start</th><th scope="col">Values</th><th scope="col">Score</th><th scope="col">Status</th></tr></thead>
        <tbody>{results.map((r, i) => (
          <tr key={i} class={i === selected ? 'selected' : undefined}>
            <td><button type="button" class="link" aria-pressed={i === selected} onClick={() => onPick(i)}>{fmtTime(r.window.start)}</button></td>
            <td>{r.count}</td><td>{fmtNum(r.score)}</td><td><Badge status={r.status} /></td>
          </tr>
        )).reverse()}</tbody>
      </table>
    </div>
  );
}

export function AssayPage({ name, window: w }: { name: string; window?: string }) {
  const { definition: d, results, alerts, error, pauseButton } = useWindowed<Assay, WindowResult, { status?: string; score?: number }>('assays', name);
  const [sel, setSel] = useState<number>(-1);
  const selected = sel >= 0 ? sel : w !== undefined ? Number(w) : results.length - 1;
  return (
    <>
      <PageHead title={name} sub={<a href="#/assays">← All assays</a>} actions={pauseButton} />
      <ErrorNote error={error} />
      {!d ? <Loading /> : <>
        <Card title={<>Definition <Badge status={d.state} /> <Badge status={d.last_result?.status ?? 'pending'} /></>}>
          <dl class="facts">
            <div><dt>Pipeline</dt><dd><a href={`#/pipelines/${enc(d.pipeline)}`}>{d.pipeline}</a></dd></div>
            <div><dt>Target</dt><dd><code>{d.target}</code></dd></div>
            <div><dt>Metric</dt><dd>{d.metric}</dd></div>
            <div><dt>Window</dt><dd>{d.window.width} every {d.window.interval}</dd></div>
            <div><dt>Thresholds</dt><dd>warning {fmtNum(d.definition.thresholds?.warning)} · alert {fmtNum(d.definition.thresholds?.alert)}</dd></div>
            <div><dt>Next window</dt><dd>{fmtTime(d.next_window.start)}</dd></div>
            <div class="wide"><dt>Alerts to</dt><dd>{d.definition.alert ? <code>{d.definition.alert.webhook}</code> : 'no webhook'}{d.definition.alert ? ` on ${d.definition.alert.on}` : ''}</dd></div>
          </dl>
        </Card>
        <Card title="Score over time">
          {results.length === 0 ? <Empty title="No window has completed yet"><p>The first result appears when the first window after the assay was created ends ({fmtTime(d.next_window.end)}).</p></Empty> : <>
            <ScoreChart title={`${d.metric} score per window (click a point to see its histograms)`} results={results} thresholds={d.definition.thresholds} onPick={setSel} />
            {results[selected] && <Histograms r={results[selected]} />}
            <WindowTable results={results} selected={selected} onPick={setSel} />
          </>}
        </Card>
        <Deliveries alerts={alerts} none={`No alert has been sent${d.definition.alert ? '' : ': this assay has no webhook'}.`} />
      </>}
    </>
  );
}

// --- create, with a live preview ---

interface Form {
  name: string; pipeline: string; column: string; index: string; metric: string; bins: string; width: string; interval: string;
  baselineKind: 'logs' | 'values'; baselineFrom: string; baselineTo: string; values: string; warning: string; alert: string; webhook: string; on: string; lookback: string;
}
const LOOKBACK = { '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
const localInput = (t: number) => new Date(t - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

function definitionOf(f: Form) {
  const target: Record<string, unknown> = { column: f.column };
  if (f.index !== '') target.index = Number(f.index);
  const baseline = f.baselineKind === 'values'
    ? { values: f.values.split(/[\s,]+/).filter(Boolean).map(Number) }
    : { start: new Date(f.baselineFrom).getTime(), end: new Date(f.baselineTo).getTime() };
  const thresholds: Record<string, number> = {};
  if (f.warning !== '') thresholds.warning = Number(f.warning);
  if (f.alert !== '') thresholds.alert = Number(f.alert);
  return {
    pipeline: f.pipeline, target, baseline, metric: f.metric, binning: { mode: 'quantile', bins: Number(f.bins) || 5 },
    window: { width: f.width, ...(f.interval ? { interval: f.interval } : {}) }, thresholds,
  };
}

export function NewAssayPage() {
  const pipelines = useLoad(() => api.get<{ pipelines: { name: string }[] }>('/v1/pipelines'), []);
  const now = Date.now();
  const [f, setF] = useState<Form>({
    name: '', pipeline: '', column: '', index: '', metric: 'psi', bins: '5', width: '1m', interval: '', baselineKind: 'logs',
    baselineFrom: localInput(now - 3_600_000), baselineTo: localInput(now), values: '', warning: '0.1', alert: '0.25', webhook: '', on: 'alert', lookback: '1h',
  });
  const pipeline = f.pipeline || pipelines.data?.pipelines[0]?.name || '';
  const sig = useLoad(async () => (pipeline ? (await api.get<{ latest: { signature: { inputs: { name: string; shape: number[] }[]; outputs: { name: string; shape: number[] }[] } } }>(`/v1/pipelines/${enc(pipeline)}`)).latest.signature : undefined), [pipeline]);
  const columns = sig.data ? [...sig.data.inputs.map((t) => ({ col: `in.${t.name}`, shape: t.shape })), ...sig.data.outputs.map((t) => ({ col: `out.${t.name}`, shape: t.shape }))] : [];
  const column = f.column || columns.find((c) => c.col.startsWith('out.') && c.shape.length > 1)?.col || columns[0]?.col || '';
  const form = { ...f, pipeline, column };
  const set = (k: keyof Form) => (e: Event) => setF({ ...f, [k]: (e.target as HTMLInputElement).value });
  const [preview, setPreview] = useState<{ windows: WindowResult[] } | null>(null);
  const [previewError, setPreviewError] = useState<unknown>(null);
  const [saveError, setSaveError] = useState<unknown>(null);
  const [pick, setPick] = useState(-1);

  // The preview follows the form (debounced): how the assay would have scored over the look-back.
  const key = JSON.stringify(form);
  useEffect(() => {
    if (!pipeline || !column) return;
    const id = setTimeout(() => {
      const end = Date.now();
      api.post<{ windows: WindowResult[] }>('/v1/assays/preview', { ...definitionOf(form), start: end - LOOKBACK[f.lookback as keyof typeof LOOKBACK], end })
        .then((p) => { setPreview(p); setPreviewError(null); setPick(-1); }, (e) => { setPreview(null); setPreviewError(e); });
    }, 400);
    return () => clearTimeout(id);
  }, [key]);

  const save = async (e: Event) => {
    e.preventDefault();
    setSaveError(null);
    try {
      const body = { name: f.name, ...definitionOf(form), ...(f.webhook ? { alert: { webhook: f.webhook, on: f.on } } : {}) };
      await api.post('/v1/assays', body);
      location.hash = `#/assays/${enc(f.name)}`;
    } catch (err) { setSaveError(err); }
  };
  const windows = preview?.windows ?? [];
  // By default the newest window that had data: an empty one has nothing to show.
  const newest = windows.map((w) => w.count > 0).lastIndexOf(true);
  const shown = windows[pick >= 0 ? pick : newest >= 0 ? newest : windows.length - 1];
  return (
    <>
      <PageHead title="New assay" sub={<a href="#/assays">← All assays</a>} />
      {pipelines.data?.pipelines.length === 0 && <div class="note">Create and deploy a pipeline first: an assay watches a pipeline's inference logs.</div>}
      <div class="grid2 top">
        <Card title="Definition">
          <form onSubmit={save} aria-label="New assay" class="stack">
            <div class="form-row">
              <div class="field"><label for="a-name">Name</label><input id="a-name" required value={f.name} onInput={set('name')} placeholder="fraud-p1" /></div>
              <div class="field"><label for="a-pipeline">Pipeline</label>
                <select id="a-pipeline" value={pipeline} onChange={(e) => setF({ ...f, pipeline: (e.target as HTMLSelectElement).value, column: '' })}>{pipelines.data?.pipelines.map((p) => <option key={p.name}>{p.name}</option>)}</select></div>
            </div>
            <div class="form-row">
              <div class="field"><label for="a-column">Column</label>
                <select id="a-column" value={column} onChange={set('column')}>{columns.map((c) => <option key={c.col} value={c.col}>{c.col} [{c.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]</option>)}</select></div>
              <div class="field"><label for="a-index">Element (tensor index)</label><input id="a-index" class="narrow" type="number" min="0" value={f.index} onInput={set('index')} placeholder="none" /></div>
              <div class="field"><label for="a-metric">Metric</label>
                <select id="a-metric" value={f.metric} onChange={set('metric')}>{['psi', 'maxdiff', 'sumdiff', 'jensenshannon', 'chisquare', 'ks', 'wasserstein'].map((m) => <option key={m}>{m}</option>)}</select></div>
              <div class="field"><label for="a-bins">Bins</label><input id="a-bins" class="narrow" type="number" min="2" value={f.bins} onInput={set('bins')} /></div>
            </div>
            <div class="form-row">
              <div class="field"><label for="a-width">Window width</label><input id="a-width" class="narrow" value={f.width} onInput={set('width')} placeholder="1h" /></div>
              <div class="field"><label for="a-interval">Every</label><input id="a-interval" class="narrow" value={f.interval} onInput={set('interval')} placeholder="= width" /></div>
              <div class="field"><label for="a-warning">Warning at</label><input id="a-warning" class="narrow" type="number" step="any" value={f.warning} onInput={set('warning')} /></div>
              <div class="field"><label for="a-alert">Alert at</label><input id="a-alert" class="narrow" type="number" step="any" value={f.alert} onInput={set('alert')} /></div>
            </div>
            <fieldset>
              <legend>Baseline</legend>
              <div class="form-row">
                <label class="radio"><input type="radio" name="bk" checked={f.baselineKind === 'logs'} onChange={() => setF({ ...f, baselineKind: 'logs' })} /> A past period of the logs</label>
                <label class="radio"><input type="radio" name="bk" checked={f.baselineKind === 'values'} onChange={() => setF({ ...f, baselineKind: 'values' })} /> Values I paste</label>
              </div>
              {f.baselineKind === 'logs' ? (
                <div class="form-row">
                  <div class="field"><label for="a-from">From</label><input id="a-from" type="datetime-local" value={f.baselineFrom} onInput={set('baselineFrom')} /></div>
                  <div class="field"><label for="a-to">To</label><input id="a-to" type="datetime-local" value={f.baselineTo} onInput={set('baselineTo')} /></div>
                </div>
              ) : (
                <div class="field"><label for="a-values">Values (comma or space separated)</label><textarea id="a-values" rows={3} value={f.values} onInput={set('values')} /></div>
              )}
            </fieldset>
            <div class="form-row">
              <div class="field grow"><label for="a-webhook">Alert webhook (optional)</label><input id="a-webhook" type="url" value={f.webhook} onInput={set('webhook')} placeholder="https://hooks.example.com/bettong" /></div>
              <div class="field"><label for="a-on">Send on</label><select id="a-on" value={f.on} onChange={set('on')}><option value="alert">alert</option><option value="warning">warning or alert</option></select></div>
            </div>
            <ErrorNote error={saveError} />
            <div class="actions"><button class="btn btn-primary" type="submit">Save assay</button></div>
          </form>
        </Card>
        <Card title="Preview" actions={<div class="field inline"><label for="a-lookback">Over the last</label>
          <select id="a-lookback" value={f.lookback} onChange={set('lookback')}>{Object.keys(LOOKBACK).map((k) => <option key={k}>{k}</option>)}</select></div>}>
          <div aria-live="polite">
            <ErrorNote error={previewError} />
            {windows.length > 0 && <>
              <p class="muted" data-testid="preview-summary">{windows.length} windows · {windows.filter((w) => w.status === 'alert').length} alert · {windows.filter((w) => w.status === 'warning').length} warning</p>
              <ScoreChart title="Score per window, as this assay would have scored" results={windows} thresholds={definitionOf(form).thresholds} onPick={setPick} />
              {shown && <Histograms r={shown} />}
            </>}
            {!previewError && windows.length === 0 && <p class="muted">Fill in the definition: the preview runs as you type.</p>}
          </div>
        </Card>
      </div>
    </>
  );
}
