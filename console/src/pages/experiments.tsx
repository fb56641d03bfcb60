// Experiments: the compare view of a pipeline's A/B arms and shadow challengers from its logs (rows,
// output summaries, latency, validation failure rate) with a chart, and "promote": the swap that
// makes the winner the step's only model.
import { useState } from 'preact/hooks';
import { api, enc, q } from '../api.ts';
import { BarChart } from '../charts.tsx';
import { Badge, Card, Confirm, Empty, ErrorNote, Loading, PageHead, fmtNum, useCan, useLoad } from '../ui.tsx';
import { PipelinePicker } from './logs.tsx';
import type { PipelineVersion, Step } from './pipelines.tsx';

interface Summary { count: number; mean: number | null; p50: number | null; min: number | null; max: number | null }
interface Group { role: 'answer' | 'shadow'; models: string; pipeline_versions: number[]; rows: number; outputs: Record<string, Summary>; latency_ms: { p50: number; p95: number; p99: number } | null; validation_failure_rate: number | null; errors?: number }

const SINCE = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, all: 0 } as const;

/** The experiment step's candidates, and which of them a compare group stands for. */
function candidates(step: Step): { model: string; version: number }[] {
  if (step.kind === 'ab') return step.arms.map((a) => ({ model: a.model, version: a.model_version }));
  if (step.kind === 'shadow') return [step.champion, ...step.challengers].map((a) => ({ model: a.model, version: a.model_version }));
  return [];
}
function winnerOf(g: Group, step: Step) {
  const names = g.models.split(' -> ').map((m) => m.trim());
  return candidates(step).find((c) => names.includes(`${c.model}:${c.version}`) || names.includes(c.model));
}

export function ExperimentsPage({ pipeline }: { pipeline?: string }) {
  const canDeploy = useCan('deploy');
  const [since, setSince] = useState<keyof typeof SINCE>('24h');
  const [metric, setMetric] = useState('rows');
  const [promote, setPromote] = useState<{ step: number; model: string; version: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const data = useLoad(async () => {
    if (!pipeline) return undefined;
    const [cmp, info] = await Promise.all([
      api.get<{ groups: Group[] }>(`/v1/pipelines/${enc(pipeline)}/compare${q({ start: SINCE[since] ? Date.now() - SINCE[since] : undefined })}`),
      api.get<{ latest: PipelineVersion; deployment: { status: string; pipeline_version: number | null } }>(`/v1/pipelines/${enc(pipeline)}`),
    ]);
    const version = info.deployment.status === 'running' && info.deployment.pipeline_version !== info.latest.version
      ? await api.get<PipelineVersion>(`/v1/pipelines/${enc(pipeline)}/versions/${info.deployment.pipeline_version}`) : info.latest;
    return { groups: cmp.groups, version, running: info.deployment.status === 'running' };
  }, [pipeline, since]);
  const groups = data.data?.groups ?? [];
  const expIndex = data.data?.version.steps.findIndex((s) => s.kind !== 'model') ?? -1;
  const expStep = expIndex >= 0 ? data.data!.version.steps[expIndex] : undefined;
  const outputs = [...new Set(groups.flatMap((g) => Object.keys(g.outputs)))];
  const value = (g: Group) => (metric === 'rows' ? g.rows : metric === 'latency' ? g.latency_ms?.p50 ?? 0 : metric === 'failures' ? g.validation_failure_rate ?? 0 : g.outputs[metric]?.mean ?? 0);
  const doPromote = async () => {
    const p = promote!;
    setPromote(null); setError(null);
    try {
      const r = await api.post<{ pipeline_version: number }>(`/v1/pipelines/${enc(pipeline!)}/swap`, { step: p.step, model: p.model, version: p.version });
      setDone(`Promoted ${p.model}:${p.version}: step ${p.step} now runs it alone (pipeline version ${r.pipeline_version}).`);
      data.reload();
    } catch (e) { setError(e); }
  };
  return (
    <>
      <PageHead title="Experiments" sub="A/B arms and shadow challengers compared from the inference logs; promote the winner." />
      <Card>
        <div class="form-row">
          <PipelinePicker current={pipeline} to="experiments" />
          <div class="field"><label for="e-since">Logs since</label>
            <select id="e-since" value={since} onChange={(e) => setSince((e.target as HTMLSelectElement).value as keyof typeof SINCE)}>
              <option value="1h">Last hour</option><option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="all">All time</option>
            </select></div>
          {groups.length > 0 && <div class="field"><label for="e-metric">Chart</label>
            <select id="e-metric" value={metric} onChange={(e) => setMetric((e.target as HTMLSelectElement).value)}>
              <option value="rows">Rows</option><option value="latency">Latency p50 (ms)</option><option value="failures">Validation failure rate</option>
              {outputs.map((o) => <option key={o} value={o}>Mean of out.{o}</option>)}
            </select></div>}
        </div>
      </Card>
      <ErrorNote error={data.error ?? error} />
      {done && <p class="note note-ok" role="status">{done}</p>}
      {!pipeline ? <Card><Empty title="Choose a pipeline"><p>Pick a pipeline with an A/B split or a shadow step to compare its arms.</p></Empty></Card>
        : data.loading && !data.data ? <Loading />
        : groups.length === 0 ? <Card><Empty title="No logged traffic to compare"><p>Send traffic to the pipeline; each arm and challenger appears here with its rows, outputs and latency.</p></Empty></Card>
        : <>
          {!expStep && <div class="note">The deployed version has no A/B or shadow step: nothing to promote. Groups below are the model versions that answered.</div>}
          <div class="grid-main-side">
            <Card title="Arms and challengers">
              <table>
                <thead><tr><th scope="col">Group</th><th scope="col">Role</th><th scope="col">Rows</th><th scope="col">Latency ms (p50 / p95 / p99)</th><th scope="col">Failure rate</th>{canDeploy && expStep && <th scope="col"><span class="sr-only">Action</span></th>}</tr></thead>
                <tbody>{groups.map((g, i) => {
                  const w = expStep && winnerOf(g, expStep);
                  return (
                    <tr key={i}>
                      <td>{g.models}</td>
                      <td><Badge status={g.role} /></td><td>{g.rows}</td>
                      <td>{g.latency_ms ? `${fmtNum(g.latency_ms.p50)} / ${fmtNum(g.latency_ms.p95)} / ${fmtNum(g.latency_ms.p99)}` : '—'}</td>
                      <td>{g.validation_failure_rate !== null ? `${(g.validation_failure_rate * 100).toFixed(1)}%` : g.errors !== undefined ? `${g.errors} errors` : '—'}</td>
                      {canDeploy && expStep && <td>{w && data.data!.running && <button type="button" class="btn btn-small" onClick={() => setPromote({ step: expIndex + 1, ...w })}>Promote {w.model}:{w.version}</button>}</td>}
                    </tr>
                  );
                })}</tbody>
              </table>
            </Card>
            <Card title="Comparison">
              <BarChart title={metric === 'rows' ? 'Rows per group' : metric === 'latency' ? 'Latency p50 (ms)' : metric === 'failures' ? 'Validation failure rate' : `Mean of out.${metric}`}
                labels={groups.map((g) => `${g.models}${g.role === 'shadow' ? ' (shadow)' : ''}`)} values={groups.map(value)} />
            </Card>
          </div>
          <Card title="Output summaries">
            <div class="scroll" tabIndex={0} role="region" aria-label="Output summaries">
              <table>
                <thead><tr><th scope="col">Output</th>{groups.map((g, i) => <th scope="col" key={i}>{g.models}{g.role === 'shadow' ? ' (shadow)' : ''}</th>)}</tr></thead>
                <tbody>{outputs.map((o) => (
                  <tr key={o}><th scope="row">out.{o}</th>{groups.map((g, i) => {
                    const s = g.outputs[o];
                    return <td key={i}>{s ? <>mean {fmtNum(s.mean)} <span class="muted">· p50 {fmtNum(s.p50)} · [{fmtNum(s.min)}, {fmtNum(s.max)}]</span></> : '—'}</td>;
                  })}</tr>
                ))}</tbody>
              </table>
            </div>
          </Card>
        </>}
      <Confirm open={promote !== null} title="Promote the winner?" confirm="Promote" onConfirm={doPromote} onClose={() => setPromote(null)}>
        {promote && <p>Step {promote.step} of <strong>{pipeline}</strong> becomes <strong>{promote.model}:{promote.version}</strong> alone. A new pipeline version is made and swapped in without dropping requests.</p>}
      </Confirm>
    </>
  );
}
