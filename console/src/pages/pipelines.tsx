// Pipelines: the list with deployment state; a pipeline's steps as a graph (A/B arms with weights,
// shadow challengers), deploy/undeploy with settings, swap a step, versions, and the live view.
import { useMemo, useState } from 'preact/hooks';
import { api, enc, q } from '../api.ts';
import { LineChart } from '../charts.tsx';
import { Badge, Card, Confirm, Empty, ErrorNote, Loading, PageHead, fmtTime, useCan, useLoad } from '../ui.tsx';
import { FirstSteps } from './models.tsx';

interface Resolved { model: string; model_version: number }
export type Step =
  | ({ kind: 'model' } & Resolved)
  | { kind: 'ab'; split: string; key?: string; arms: (Resolved & { weight: number })[] }
  | { kind: 'shadow'; champion: Resolved; challengers: Resolved[] };
export interface PipelineVersion { pipeline: string; version: number; steps: Step[]; validations: Record<string, string>; created_at: string }
interface Deployment { pipeline: string; pipeline_version: number | null; status: string; config: Record<string, number> | null; error?: string; updated_at: string | null }

const label = (m: Resolved) => `${m.model}:${m.model_version}`;

// --- list and create ---

type Draft = { kind: 'model' | 'ab' | 'shadow'; models: { model: string; weight: string }[] };

function CreatePipeline({ onDone }: { onDone: () => void }) {
  const models = useLoad(() => api.get<{ models: { name: string }[] }>('/v1/models'), []);
  const names = models.data?.models.map((m) => m.name) ?? [];
  const [name, setName] = useState('');
  const [steps, setSteps] = useState<Draft[]>([{ kind: 'model', models: [{ model: '', weight: '1' }] }]);
  const [rule, setRule] = useState('');
  const [error, setError] = useState<unknown>(null);
  const set = (i: number, d: Draft) => setSteps(steps.map((s, j) => (j === i ? d : s)));
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const spec = steps.map((s) => {
      const ms = s.models.map((m) => ({ model: m.model || names[0] }));
      if (s.kind === 'ab') return { ab: { arms: s.models.map((m, k) => ({ ...ms[k], weight: Number(m.weight) || 1 })) } };
      if (s.kind === 'shadow') return { shadow: { champion: ms[0], challengers: ms.slice(1) } };
      return ms[0];
    });
    const validations = rule.trim() ? { rule: rule.trim() } : undefined;
    try {
      await api.post('/v1/pipelines', { name, steps: spec, ...(validations ? { validations } : {}) });
      location.hash = `#/pipelines/${enc(name)}`;
      onDone();
    } catch (err) { setError(err); }
  };
  if (models.data && names.length === 0) return <p class="muted">Upload a model first (Models page), then build a pipeline of it here.</p>;
  return (
    <form onSubmit={submit} aria-label="Create a pipeline" class="stack">
      <div class="field"><label for="p-name">Pipeline name</label><input id="p-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="fraud" /></div>
      {steps.map((s, i) => (
        <fieldset key={i} class="step-edit">
          <legend>Step {i + 1}</legend>
          <div class="form-row">
            <div class="field"><label for={`s${i}-kind`}>Kind</label>
              <select id={`s${i}-kind`} value={s.kind} onChange={(e) => {
                const kind = (e.target as HTMLSelectElement).value as Draft['kind'];
                set(i, { kind, models: kind === 'model' ? s.models.slice(0, 1) : s.models.length < 2 ? [...s.models, { model: '', weight: '1' }] : s.models });
              }}>
                <option value="model">Model</option><option value="ab">A/B split</option><option value="shadow">Shadow</option>
              </select>
            </div>
            {s.models.map((m, k) => (
              <div class="field" key={k}>
                <label for={`s${i}-m${k}`}>{s.kind === 'ab' ? `Arm ${k + 1}` : s.kind === 'shadow' ? (k === 0 ? 'Champion' : `Challenger ${k}`) : 'Model'}</label>
                <div class="inline">
                  <select id={`s${i}-m${k}`} value={m.model || names[0]} onChange={(e) => set(i, { ...s, models: s.models.map((x, j) => (j === k ? { ...x, model: (e.target as HTMLSelectElement).value } : x)) })}>
                    {names.map((n) => <option key={n} value={n}>{n}</option>)}
                  </select>
                  {s.kind === 'ab' && <input aria-label={`Arm ${k + 1} weight`} class="narrow" type="number" min="0.01" step="any" value={m.weight}
                    onInput={(e) => set(i, { ...s, models: s.models.map((x, j) => (j === k ? { ...x, weight: (e.target as HTMLInputElement).value } : x)) })} />}
                </div>
              </div>
            ))}
            {s.kind !== 'model' && <button type="button" class="btn btn-ghost" onClick={() => set(i, { ...s, models: [...s.models, { model: '', weight: '1' }] })}>+ {s.kind === 'ab' ? 'arm' : 'challenger'}</button>}
            {steps.length > 1 && <button type="button" class="btn btn-ghost" onClick={() => setSteps(steps.filter((_, j) => j !== i))}>Remove step</button>}
          </div>
        </fieldset>
      ))}
      <div class="form-row">
        <button type="button" class="btn" onClick={() => setSteps([...steps, { kind: 'model', models: [{ model: '', weight: '1' }] }])}>+ Add step</button>
        <div class="field grow"><label for="p-rule">Validation (optional): an expression good rows satisfy</label>
          <input id="p-rule" value={rule} onInput={(e) => setRule((e.target as HTMLInputElement).value)} placeholder="out.probabilities[1] <= 0.95" /></div>
        <button class="btn btn-primary" type="submit">Create pipeline</button>
      </div>
      <ErrorNote error={error} />
    </form>
  );
}

export function PipelinesPage() {
  const canWrite = useCan('write');
  const [creating, setCreating] = useState(false);
  const list = useLoad(async () => {
    const [{ pipelines }, { deployments }] = await Promise.all([
      api.get<{ pipelines: { name: string; latest_version: number; created_at: string }[] }>('/v1/pipelines'),
      api.get<{ deployments: Deployment[] }>('/v1/deployments'),
    ]);
    return pipelines.map((p) => ({ ...p, deployment: deployments.find((d) => d.pipeline === p.name) }));
  }, []);
  return (
    <>
      <PageHead title="Pipelines" sub="Ordered steps: models, A/B splits and shadows. Every change is a new version."
        actions={canWrite && <button type="button" class="btn btn-primary" onClick={() => setCreating(!creating)} aria-expanded={creating}>New pipeline</button>} />
      {creating && <Card title="New pipeline"><CreatePipeline onDone={list.reload} /></Card>}
      <Card>
        <ErrorNote error={list.error} />
        {list.loading && !list.data ? <Loading /> : list.data?.length === 0 ? <FirstSteps /> : (
          <table>
            <thead><tr><th scope="col">Pipeline</th><th scope="col">Latest version</th><th scope="col">Deployment</th><th scope="col">Deployed version</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {list.data?.map((p) => (
                <tr key={p.name}>
                  <td><a href={`#/pipelines/${enc(p.name)}`}>{p.name}</a></td><td>v{p.latest_version}</td>
                  <td><Badge status={p.deployment?.status ?? 'undeployed'} /></td>
                  <td>{p.deployment?.status === 'running' ? `v${p.deployment.pipeline_version}` : '—'}</td><td>{fmtTime(p.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

// --- the graph ---

function Node({ title, sub, kind }: { title: string; sub?: string; kind?: string }) {
  return <div class={`node ${kind ?? ''}`}><strong>{title}</strong>{sub && <span>{sub}</span>}</div>;
}

export function StepGraph({ steps }: { steps: Step[] }) {
  return (
    <ol class="graph" aria-label="Pipeline steps, in order">
      <li class="io">input</li>
      {steps.map((s, i) => {
        const total = s.kind === 'ab' ? s.arms.reduce((n, a) => n + a.weight, 0) : 1;
        return (
          <li key={i} class="stage">
            <span class="stage-label">Step {i + 1} · {s.kind === 'ab' ? `A/B (${s.split}${s.key ? ` by ${s.key}` : ''})` : s.kind}</span>
            {s.kind === 'model' && <Node title={label(s)} />}
            {s.kind === 'ab' && s.arms.map((a, k) => <Node key={k} kind="arm" title={label(a)} sub={s.split === 'random' ? `weight ${a.weight} · ${Math.round((a.weight / total) * 100)}%` : `arm ${k + 1}`} />)}
            {s.kind === 'shadow' && <>
              <Node kind="champion" title={label(s.champion)} sub="champion · answers" />
              {s.challengers.map((c, k) => <Node key={k} kind="shadow" title={label(c)} sub="shadow challenger" />)}
            </>}
          </li>
        );
      })}
      <li class="io">output</li>
    </ol>
  );
}

// --- deploy, swap ---

const SETTINGS = [
  ['replicas', 'Replicas (worker threads; 0: the server thread)', 0],
  ['threads', 'Threads per replica', 1],
  ['max_batch_size', 'Dynamic batching: most rows per run (1: off)', 1],
  ['max_delay_ms', 'Dynamic batching: longest wait, ms', 0],
] as const;

function DeployForm({ name, versions, current, onDone }: { name: string; versions: number[]; current: Record<string, number> | null; onDone: () => void }) {
  const [version, setVersion] = useState(String(versions.at(-1) ?? ''));
  const [vals, setVals] = useState<Record<string, string>>(Object.fromEntries(SETTINGS.map(([k]) => [k, current?.[k] !== undefined ? String(current[k]) : ''])));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true); setError(null);
    const body: Record<string, number> = { version: Number(version) };
    for (const [k] of SETTINGS) if (vals[k] !== '') body[k] = Number(vals[k]);
    try { await api.post(`/v1/pipelines/${enc(name)}/deploy`, body); onDone(); } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <form class="form-row" onSubmit={submit} aria-label="Deploy settings">
      <div class="field"><label for="d-version">Version</label>
        <select id="d-version" value={version} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>{versions.slice().reverse().map((v) => <option key={v} value={v}>v{v}</option>)}</select></div>
      {SETTINGS.map(([k, text, min]) => (
        <div class="field" key={k}><label for={`d-${k}`}>{text}</label>
          <input id={`d-${k}`} type="number" min={min} placeholder="default" value={vals[k]} onInput={(e) => setVals({ ...vals, [k]: (e.target as HTMLInputElement).value })} /></div>
      ))}
      <button class="btn btn-primary" type="submit" disabled={busy}>{busy ? 'Deploying…' : 'Deploy'}</button>
      <div class="grow-row"><ErrorNote error={error} /></div>
    </form>
  );
}

export function SwapForm({ name, steps, onDone, preset }: { name: string; steps: Step[]; onDone: () => void; preset?: { step: number; model: string; version?: number; replace?: string } }) {
  const models = useLoad(() => api.get<{ models: { name: string; latest_version: number }[] }>('/v1/models'), []);
  const [step, setStep] = useState(String(preset?.step ?? 1));
  const [model, setModel] = useState(preset?.model ?? '');
  const [version, setVersion] = useState(preset?.version ? String(preset.version) : '');
  const [replace, setReplace] = useState(preset?.replace ?? '');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const s = steps[Number(step) - 1];
  const targets = !s ? [] : s.kind === 'ab' ? s.arms.map(label) : s.kind === 'shadow' ? [label(s.champion), ...s.challengers.map(label)] : [];
  const chosen = model || models.data?.models[0]?.name || '';
  const go = async () => {
    setConfirming(false); setError(null);
    try {
      await api.post(`/v1/pipelines/${enc(name)}/swap`, { step: Number(step), model: chosen, ...(version ? { version: Number(version) } : {}), ...(targets.length ? { replace: replace || targets[0] } : {}) });
      onDone();
    } catch (err) { setError(err); }
  };
  return (
    <>
      <form class="form-row" aria-label="Swap a step" onSubmit={(e) => { e.preventDefault(); setConfirming(true); }}>
        <div class="field"><label for="sw-step">Step</label>
          <select id="sw-step" value={step} onChange={(e) => { setStep((e.target as HTMLSelectElement).value); setReplace(''); }}>{steps.map((_, i) => <option key={i} value={i + 1}>{i + 1}</option>)}</select></div>
        {targets.length > 0 && <div class="field"><label for="sw-replace">Replace</label>
          <select id="sw-replace" value={replace || targets[0]} onChange={(e) => setReplace((e.target as HTMLSelectElement).value)}>{targets.map((t) => <option key={t} value={t}>{t}</option>)}</select></div>}
        <div class="field"><label for="sw-model">With model</label>
          <select id="sw-model" value={chosen} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>{models.data?.models.map((m) => <option key={m.name} value={m.name}>{m.name}</option>)}</select></div>
        <div class="field"><label for="sw-version">Version</label><input id="sw-version" class="narrow" type="number" min="1" placeholder="latest" value={version} onInput={(e) => setVersion((e.target as HTMLInputElement).value)} /></div>
        <button class="btn btn-primary" type="submit">Swap…</button>
        <div class="grow-row"><ErrorNote error={error} /></div>
      </form>
      <Confirm open={confirming} title="Swap this step?" confirm="Swap now" onConfirm={go} onClose={() => setConfirming(false)}>
        <p>Step {step}{targets.length ? ` (${replace || targets[0]})` : ''} of <strong>{name}</strong> becomes <strong>{chosen}{version ? `:${version}` : ' (latest)'}</strong>.
          A new pipeline version is made and deployed in place; no request is dropped.</p>
      </Confirm>
    </>
  );
}

// --- live view ---

interface Series { step_s: number; points: { t: number; requests_per_s: number; error_rate: number; rows_per_s: number; p50_ms: number | null; p95_ms: number | null; p99_ms: number | null }[]; in_flight: number[]; queued: number }

export function LiveView({ name }: { name: string }) {
  const [range, setRange] = useState<'15m' | '1h' | '24h'>('15m');
  const data = useLoad(() => api.get<Series>(`/v1/pipelines/${enc(name)}/metrics/series${q({ range })}`), [name, range], 5000);
  const d = data.data;
  const charts = useMemo(() => {
    if (!d) return null;
    const x = d.points.map((p) => p.t / 1000);
    return {
      x,
      traffic: [{ label: 'requests/s', values: d.points.map((p) => p.requests_per_s) }, { label: 'rows/s', values: d.points.map((p) => p.rows_per_s) }],
      latency: [{ label: 'p50 ms', values: d.points.map((p) => p.p50_ms) }, { label: 'p95 ms', values: d.points.map((p) => p.p95_ms) }, { label: 'p99 ms', values: d.points.map((p) => p.p99_ms) }],
      errors: [{ label: 'error rate', values: d.points.map((p) => p.error_rate), color: '#dc2626' }],
    };
  }, [d]);
  const total = d ? d.points.reduce((n, p) => n + p.requests_per_s * d.step_s, 0) : 0;
  return (
    <Card title="Live" actions={
      <div class="segmented" role="group" aria-label="Time range">
        {(['15m', '1h', '24h'] as const).map((r) => <button key={r} type="button" aria-pressed={range === r} onClick={() => setRange(r)}>{r === '15m' ? '15 min' : r === '1h' ? '1 hour' : '24 hours'}</button>)}
      </div>}>
      <ErrorNote error={data.error} />
      {d && charts && <>
        <div class="stats">
          <div><span>Requests in range</span><strong data-testid="live-total">{Math.round(total)}</strong></div>
          <div><span>In flight per replica</span><strong data-testid="in-flight">{d.in_flight.length ? d.in_flight.map((n, i) => <span class="chip" key={i} title={`replica ${i}`}>#{i}: {n}</span>) : '—'}</strong></div>
          <div><span>Queued</span><strong>{d.queued}</strong></div>
          <div><span>Refreshes</span><strong>every 5 s</strong></div>
        </div>
        <div class="grid3">
          <LineChart testId="chart-traffic" title="Traffic" x={charts.x} series={charts.traffic} />
          <LineChart title="Latency (server time)" x={charts.x} series={charts.latency} yLabel="ms" />
          <LineChart title="Error rate" x={charts.x} series={charts.errors} />
        </div>
      </>}
    </Card>
  );
}

// --- one pipeline ---

export function PipelinePage({ name }: { name: string }) {
  const canDeploy = useCan('deploy');
  const [panel, setPanel] = useState<'deploy' | 'swap' | null>(null);
  const [confirmUndeploy, setConfirmUndeploy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const p = useLoad(async () => {
    const [info, { versions }] = await Promise.all([
      api.get<{ deployment: Deployment; latest: PipelineVersion }>(`/v1/pipelines/${enc(name)}`),
      api.get<{ versions: PipelineVersion[] }>(`/v1/pipelines/${enc(name)}/versions`),
    ]);
    return { ...info, versions };
  }, [name]);
  const dep = p.data?.deployment;
  const running = dep?.status === 'running';
  const shown = p.data ? (running ? p.data.versions.find((v) => v.version === dep!.pipeline_version) : p.data.latest) : undefined;
  const undeploy = async () => {
    setConfirmUndeploy(false);
    try { await api.post(`/v1/pipelines/${enc(name)}/undeploy`); p.reload(); } catch (e) { setError(e); }
  };
  return (
    <>
      <PageHead title={name} sub={<><a href="#/pipelines">← All pipelines</a> · <a href={`#/logs/${enc(name)}`}>Inference logs</a> · <a href={`#/experiments/${enc(name)}`}>Experiments</a></>}
        actions={canDeploy && p.data && <>
          <button type="button" class="btn btn-primary" onClick={() => setPanel(panel === 'deploy' ? null : 'deploy')} aria-expanded={panel === 'deploy'}>{running ? 'Redeploy…' : 'Deploy…'}</button>
          {running && <button type="button" class="btn" onClick={() => setPanel(panel === 'swap' ? null : 'swap')} aria-expanded={panel === 'swap'}>Swap a step…</button>}
          {running && <button type="button" class="btn btn-danger" onClick={() => setConfirmUndeploy(true)}>Undeploy</button>}
        </>} />
      <ErrorNote error={p.error ?? error} />
      {p.loading && !p.data && <Loading />}
      {p.data && <>
        {panel === 'deploy' && <Card title="Deploy"><DeployForm name={name} versions={p.data.versions.map((v) => v.version)} current={dep?.config ?? null} onDone={() => { setPanel(null); p.reload(); }} /></Card>}
        {panel === 'swap' && shown && <Card title="Swap a step (hot swap, or promote a challenger)"><SwapForm name={name} steps={shown.steps} onDone={() => { setPanel(null); p.reload(); }} /></Card>}
        <Card title={<>Deployment <Badge status={dep?.status ?? 'undeployed'} /></>}>
          {dep?.error && <div class="note note-error" role="alert">{dep.error}</div>}
          <dl class="facts">
            <div><dt>Version</dt><dd>{running ? `v${dep!.pipeline_version}` : '—'}</dd></div>
            {running && dep!.config && Object.entries(dep!.config).map(([k, v]) => <div key={k}><dt>{k.replaceAll('_', ' ')}</dt><dd>{v}</dd></div>)}
            <div><dt>Updated</dt><dd>{fmtTime(dep?.updated_at)}</dd></div>
            <div class="wide"><dt>Endpoint</dt><dd><code>POST /v1/pipelines/{name}/infer</code> · <code>POST /v2/models/{name}/infer</code></dd></div>
          </dl>
        </Card>
        {shown && <Card title={`Steps of v${shown.version}${running ? ' (deployed)' : ' (latest)'}`}>
          <StepGraph steps={shown.steps} />
          {Object.keys(shown.validations).length > 0 && <p class="muted">Validations: {Object.entries(shown.validations).map(([k, v]) => <code class="chip" key={k}>{k}: {v}</code>)}</p>}
        </Card>}
        {running ? <LiveView name={name} /> : <Card title="Live"><Empty title="Not deployed">{canDeploy ? <p>Deploy this pipeline to serve it and see its traffic here.</p> : <p>An editor or owner can deploy it.</p>}</Empty></Card>}
        <Card title="Versions">
          <table>
            <thead><tr><th scope="col">Version</th><th scope="col">Steps</th><th scope="col">Created</th></tr></thead>
            <tbody>{p.data.versions.slice().reverse().map((v) => (
              <tr key={v.version}><td>v{v.version}{running && dep!.pipeline_version === v.version && <> <Badge status="running" /></>}</td>
                <td>{v.steps.map((s) => (s.kind === 'model' ? label(s) : s.kind === 'ab' ? `A/B(${s.arms.map(label).join(', ')})` : `shadow(${label(s.champion)} | ${s.challengers.map(label).join(', ')})`)).join(' → ')}</td>
                <td>{fmtTime(v.created_at)}</td></tr>
            ))}</tbody>
          </table>
        </Card>
      </>}
      <Confirm open={confirmUndeploy} title={`Undeploy ${name}?`} confirm="Undeploy" onConfirm={undeploy} onClose={() => setConfirmUndeploy(false)}>
        <p>Its endpoint stops answering. Logs, versions and assays stay.</p>
      </Confirm>
    </>
  );
}
