// Performance monitors: ground-truth labels joined to logged predictions per window. The list with
// each one's last status; one monitor's metric over time (realised, and CBPE's estimate with its
// band) against its thresholds, the windows with their label coverage, a window's confusion
// matrix, the pipeline's unmatched labels, pause/resume and alert deliveries.
import { useMemo, useState } from 'preact/hooks';
import { api, enc } from '../api.ts';
import { type Band, LineChart, PALETTE } from '../charts.tsx';
import { Badge, Card, Empty, ErrorNote, Loading, PageHead, fmtNum, fmtTime, useLoad } from '../ui.tsx';
import { Deliveries, useWindowed } from '../windowed.tsx';

interface Win { index: number; start: number; end: number }
interface Estimate { value: number | null; lower: number | null; upper: number | null }
interface WindowResult {
  window: Win; metric: string; count: number; labelled: number; coverage: number | null; value: number | null;
  state: 'final' | 'pending'; status: string; metrics: Record<string, number | null>;
  confusion_matrix?: { labels: string[]; matrix: number[][] };
  estimated?: { metrics: Record<string, Estimate>; value: number | null; status: string | null };
}
interface Monitor {
  name: string; pipeline: string; task: string; metric: string; state: 'active' | 'paused';
  window: { width: string; interval: string };
  definition: {
    key: string; label: string; prediction: { column: string }; probabilities: { column: string } | null;
    thresholds: { warning: number | null; alert: number; direction: 'above' | 'below' } | null;
    coverage: { min: number; max_delay: number }; alert: { webhook: string; on: string } | null;
  };
  calibration: { reference_rows: number } | null; next_window: Win;
  last_result: { window: Win; value: number | null; status: string; state: string } | null;
}
interface Unmatched { count: number; labels: { key: string; labels: Record<string, unknown>; received_at: string }[] }

export function MonitorsPage() {
  const list = useLoad(() => api.get<{ monitors: Monitor[] }>('/v1/monitors'), [], 15000);
  return (
    <>
      <PageHead title="Monitors" sub="Performance monitors: uploaded ground-truth labels joined to logged predictions, a metric per window." />
      <Card>
        <ErrorNote error={list.error} />
        {list.loading && !list.data ? <Loading /> : list.data?.monitors.length === 0 ? (
          <Empty title="No performance monitors yet">
            <p>Upload labels for logged predictions, then create a monitor, from a shell:</p>
            <pre class="code">{`bettong feedback upload fraud labels.csv --key metadata.transaction_id
bettong monitor create fraud-f1 --pipeline fraud --task classification --label is_fraud \\
  --prediction out.label --probabilities out.probabilities --key metadata.transaction_id \\
  --metric f1 --width 1d --warning 0.8 --alert 0.7`}</pre>
            <p>or from Python:</p>
            <pre class="code">{`pipeline.add_feedback(labels_df, key="transaction_id", label="is_fraud")
client.build_monitor("fraud-f1", pipeline, task="classification", label="is_fraud",
                     prediction="out.label", probabilities="out.probabilities",
                     key="transaction_id", window="1d", metric="f1", alert=0.7).create()`}</pre>
          </Empty>
        ) : (
          <table>
            <thead><tr><th scope="col">Monitor</th><th scope="col">Pipeline</th><th scope="col">Task</th><th scope="col">Metric</th><th scope="col">Window</th><th scope="col">State</th><th scope="col">Last status</th><th scope="col">Last value</th></tr></thead>
            <tbody>{list.data?.monitors.map((m) => (
              <tr key={m.name}>
                <td><a href={`#/monitors/${enc(m.name)}`}>{m.name}</a></td><td>{m.pipeline}</td><td>{m.task}</td><td>{m.metric}</td>
                <td>{m.window.width} every {m.window.interval}</td><td><Badge status={m.state} /></td>
                <td><Badge status={m.last_result?.status ?? 'pending'} /></td><td>{fmtNum(m.last_result?.value)}</td>
              </tr>
            ))}</tbody>
          </table>
        )}
      </Card>
    </>
  );
}

/** Realised value per window, CBPE's estimate with its band where the metric is estimable, thresholds as lines. */
function MetricChart({ m, results, onPick }: { m: Monitor; results: WindowResult[]; onPick: (i: number) => void }) {
  const x = useMemo(() => results.map((r) => r.window.start / 1000), [results]);
  const est = results.map((r) => r.estimated?.metrics[m.metric]);
  const hasEstimate = est.some((e) => e?.value != null);
  const series = useMemo(() => [
    { label: `${m.metric} (realised)`, values: results.map((r) => r.value) },
    ...(hasEstimate ? [{ label: `${m.metric} (estimated, CBPE)`, values: est.map((e) => e?.value ?? null), color: PALETTE[4] }] : []),
  ], [results, m.metric]);
  const bands = useMemo<Band[]>(() => (hasEstimate ? [{ label: 'CBPE band', lower: est.map((e) => e?.lower ?? null), upper: est.map((e) => e?.upper ?? null), color: PALETTE[4] }] : []), [results, m.metric]);
  const t = m.definition.thresholds;
  const lines = useMemo(() => [
    ...(t?.warning != null ? [{ label: 'warning', value: t.warning, color: '#d97706' }] : []),
    ...(t ? [{ label: 'alert', value: t.alert, color: '#dc2626' }] : []),
  ], [t?.warning, t?.alert]);
  return <LineChart testId="metric-chart" title={`${m.metric} per window (click a point to select the window)`} x={x} series={series} bands={bands} lines={lines} onPick={onPick} />;
}

function WindowTable({ results, selected, onPick }: { results: WindowResult[]; selected: number; onPick: (i: number) => void }) {
  return (
    <div class="scroll short" tabIndex={0} role="region" aria-label="Windows">
      <table data-testid="windows">
        <thead><tr><th scope="col">Window start</th><th scope="col">Predictions</th><th scope="col">Labelled</th><th scope="col">Coverage</th><th scope="col">Value</th><th scope="col">Estimated</th><th scope="col">State</th><th scope="col">Status</th></tr></thead>
        <tbody>{results.map((r, i) => (
          <tr key={i} class={i === selected ? 'selected' : undefined}>
            <td><button type="button" class="link" aria-pressed={i === selected} onClick={() => onPick(i)}>{fmtTime(r.window.start)}</button></td>
            <td>{r.count}</td><td>{r.labelled}</td><td>{r.coverage === null ? '—' : `${(r.coverage * 100).toFixed(0)}%`}</td>
            <td>{fmtNum(r.value)}</td><td>{fmtNum(r.estimated?.value)}</td><td><Badge status={r.state} /></td><td><Badge status={r.status} /></td>
          </tr>
        )).reverse()}</tbody>
      </table>
    </div>
  );
}

/** Rows: the label; columns: the prediction. */
function ConfusionMatrix({ r }: { r: WindowResult }) {
  const cm = r.confusion_matrix!;
  return (
    <figure class="chart" data-testid="confusion">
      <figcaption>Confusion matrix, window {fmtTime(r.window.start)} ({r.labelled} labelled)</figcaption>
      <table class="matrix">
        <thead><tr><th scope="col">label ↓ / predicted →</th>{cm.labels.map((l) => <th scope="col" key={l}>{l}</th>)}</tr></thead>
        <tbody>{cm.matrix.map((row, i) => (
          <tr key={i}><th scope="row">{cm.labels[i]}</th>{row.map((n, j) => <td key={j} class={i === j ? 'hit' : n > 0 ? 'miss' : undefined}>{n}</td>)}</tr>
        ))}</tbody>
      </table>
    </figure>
  );
}

function UnmatchedLabels({ pipeline }: { pipeline: string }) {
  const u = useLoad(() => api.get<Unmatched>(`/v1/pipelines/${enc(pipeline)}/feedback/unmatched?limit=5`), [pipeline], 15000);
  return (
    <Card title="Unmatched labels">
      <ErrorNote error={u.error} />
      {!u.data ? <Loading /> : <>
        <p data-testid="unmatched"><strong>{u.data.count}</strong> current label{u.data.count === 1 ? '' : 's'} of {pipeline} match no logged prediction{u.data.count ? ' (yet: they match once their prediction is logged)' : ''}.</p>
        {u.data.labels.length > 0 && (
          <table>
            <thead><tr><th scope="col">Key</th><th scope="col">Labels</th><th scope="col">Received</th></tr></thead>
            <tbody>{u.data.labels.map((l) => <tr key={l.key}><td><code>{l.key}</code></td><td><code>{JSON.stringify(l.labels)}</code></td><td>{fmtTime(l.received_at)}</td></tr>)}</tbody>
          </table>
        )}
      </>}
    </Card>
  );
}

export function MonitorPage({ name }: { name: string }) {
  const { definition: d, results, alerts, error, pauseButton } = useWindowed<Monitor, WindowResult, { status?: string; source?: string; value?: number }>('monitors', name);
  const [sel, setSel] = useState(-1);
  const selected = sel >= 0 ? sel : results.length - 1;
  const t = d?.definition.thresholds;
  return (
    <>
      <PageHead title={name} sub={<a href="#/monitors">← All monitors</a>} actions={pauseButton} />
      <ErrorNote error={error} />
      {!d ? <Loading /> : <>
        <Card title={<>Definition <Badge status={d.state} /> <Badge status={d.last_result?.status ?? 'pending'} /></>}>
          <dl class="facts">
            <div><dt>Pipeline</dt><dd><a href={`#/pipelines/${enc(d.pipeline)}`}>{d.pipeline}</a></dd></div>
            <div><dt>Task · metric</dt><dd>{d.task} · {d.metric}</dd></div>
            <div><dt>Label · key</dt><dd><code>{d.definition.label}</code> by <code>{d.definition.key}</code></dd></div>
            <div><dt>Prediction</dt><dd><code>{d.definition.prediction.column}</code>{d.definition.probabilities ? <> · <code>{d.definition.probabilities.column}</code></> : null}</dd></div>
            <div><dt>Window</dt><dd>{d.window.width} every {d.window.interval}</dd></div>
            <div><dt>Thresholds</dt><dd>{t ? <>warning {fmtNum(t.warning)} · alert {fmtNum(t.alert)} ({t.direction === 'below' ? 'higher' : 'lower'} is better)</> : 'none'}</dd></div>
            <div><dt>Final when</dt><dd>{(d.definition.coverage.min * 100).toFixed(0)}% labelled, or {fmtNum(d.definition.coverage.max_delay / 3_600_000)} h after the window</dd></div>
            <div><dt>CBPE reference</dt><dd>{d.calibration ? `${d.calibration.reference_rows} rows` : 'none'}</dd></div>
            <div><dt>Next window</dt><dd>{fmtTime(d.next_window.start)}</dd></div>
            <div class="wide"><dt>Alerts to</dt><dd>{d.definition.alert ? <code>{d.definition.alert.webhook}</code> : 'no webhook'}{d.definition.alert ? ` on ${d.definition.alert.on}` : ''}</dd></div>
          </dl>
        </Card>
        <Card title="Metric over time">
          {results.length === 0 ? <Empty title="No window has ended yet"><p>The first result appears when the first window ends ({fmtTime(d.next_window.end)}); it stays pending until its labels come.</p></Empty> : <>
            <MetricChart m={d} results={results} onPick={setSel} />
            {results[selected]?.confusion_matrix && <ConfusionMatrix r={results[selected]} />}
            <WindowTable results={results} selected={selected} onPick={setSel} />
          </>}
        </Card>
        <UnmatchedLabels pipeline={d.pipeline} />
        <Deliveries alerts={alerts} columns={[['Source', (p) => p.source ?? '—'], ['Value', (p) => fmtNum(p.value)]]}
          none={`No alert has been sent${d.definition.alert ? '' : ': this monitor has no webhook'}.`} />
      </>}
    </>
  );
}
