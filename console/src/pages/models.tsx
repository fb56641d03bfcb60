// Models: the registry's models with their versions, signature, runtime, size, sha256 and upload time; upload a file.
import { useState } from 'preact/hooks';
import { api, download, enc, q, request } from '../api.ts';
import { Card, Empty, ErrorNote, Loading, PageHead, fmtBytes, fmtTime, useCan, useLoad } from '../ui.tsx';

interface TensorSpec { name: string; datatype: string; shape: number[] }
export interface ModelVersion {
  model: string; version: number; sha256: string; size: number; runtime: string; platform: string; status?: string;
  signature: { inputs: TensorSpec[]; outputs: TensorSpec[] }; created_at: string;
}

/** What a new workspace does first, on the command line or in Python. */
export function FirstSteps() {
  return (
    <Empty title="Nothing deployed in this workspace yet">
      <p>Deploy a first model in three lines, from a shell:</p>
      <pre class="code">{`bettong model upload digits digits_mlp.onnx
bettong pipeline create digits --step digits
bettong pipeline deploy digits`}</pre>
      <p>or from Python:</p>
      <pre class="code">{`client.upload_model("digits", "digits_mlp.onnx")
client.create_pipeline("digits", steps=[{"model": "digits"}])
client.deploy("digits")`}</pre>
    </Empty>
  );
}

function Upload({ onDone }: { onDone: () => void }) {
  const [name, setName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [runtime, setRuntime] = useState('onnx');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (!file) return setError(new Error('choose a model file to upload'));
    setBusy(true); setError(null); setDone(null);
    try {
      const v = await request<ModelVersion & { created: boolean }>('POST', `/v1/models/${enc(name)}${q({ runtime })}`, file);
      setDone(v.created ? `Uploaded ${v.model} version ${v.version}.` : `${v.model} version ${v.version} already has this content.`);
      onDone();
    } catch (err) { setError(err); } finally { setBusy(false); }
  };
  return (
    <form class="form-row" onSubmit={submit} aria-label="Upload a model">
      <div class="field"><label for="m-name">Model name</label><input id="m-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="ccfraud" /></div>
      <div class="field"><label for="m-file">File</label><input id="m-file" type="file" required onChange={(e) => {
        const f = (e.target as HTMLInputElement).files?.[0] ?? null;
        setFile(f);
        if (f && !name) setName(f.name.replace(/\.[^.]+$/, '').replace(/[^A-Za-z0-9_.-]/g, '_'));
      }} /></div>
      <div class="field"><label for="m-runtime">Runtime</label><select id="m-runtime" value={runtime} onChange={(e) => setRuntime((e.target as HTMLSelectElement).value)}>
        <option value="onnx">ONNX</option><option value="js">JavaScript / TypeScript</option><option value="python">Python</option>
      </select></div>
      <button class="btn btn-primary" type="submit" disabled={busy}>{busy ? 'Uploading…' : 'Upload'}</button>
      <div class="grow-row">
        <ErrorNote error={error} />
        {done && <p class="note note-ok" role="status">{done}</p>}
      </div>
    </form>
  );
}

export function ModelsPage() {
  const canWrite = useCan('write');
  const list = useLoad(() => api.get<{ models: { name: string; latest_version: number; versions: number; created_at: string }[] }>('/v1/models'), []);
  return (
    <>
      <PageHead title="Models" sub="Every model version is checked at upload, stored by sha256 and versioned." />
      {canWrite && <Card title="Upload a model"><Upload onDone={list.reload} /></Card>}
      <Card title="Registered models">
        <ErrorNote error={list.error} />
        {list.loading && !list.data ? <Loading /> : list.data?.models.length === 0 ? <FirstSteps /> : (
          <table>
            <thead><tr><th scope="col">Model</th><th scope="col">Latest version</th><th scope="col">Versions</th><th scope="col">Registered</th></tr></thead>
            <tbody>
              {list.data?.models.map((m) => (
                <tr key={m.name}><td><a href={`#/models/${enc(m.name)}`}>{m.name}</a></td><td>v{m.latest_version}</td><td>{m.versions}</td><td>{fmtTime(m.created_at)}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </>
  );
}

const spec = (t: TensorSpec) => `${t.name}: ${t.datatype}[${t.shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;

export function ModelPage({ name }: { name: string }) {
  const m = useLoad(() => api.get<{ name: string; created_at: string; versions: ModelVersion[] }>(`/v1/models/${enc(name)}`), [name]);
  const audit = useLoad(() => api.get<{ records: { target: string; user: string; detail: { version?: number } }[] }>(`/v1/audit${q({ action: 'model.upload', limit: 1000 })}`).catch(() => ({ records: [] })), [name]);
  const uploader = (v: number) => audit.data?.records.find((r) => r.target === name && r.detail?.version === v)?.user;
  return (
    <>
      <PageHead title={name} sub={<a href="#/models">← All models</a>} />
      <ErrorNote error={m.error} />
      {m.loading && !m.data ? <Loading /> : m.data?.versions.slice().reverse().map((v) => (
        <Card key={v.version} title={`Version ${v.version}`} actions={<button type="button" class="btn" onClick={() => download(`/v1/models/${enc(name)}/versions/${v.version}/artifact`, `${name}-v${v.version}.${v.runtime === 'onnx' ? 'onnx' : 'bin'}`).catch(alert)}>Download</button>}>
          <dl class="facts">
            <div><dt>Runtime</dt><dd>{v.runtime} <span class="muted">({v.platform})</span></dd></div>
            <div><dt>Size</dt><dd>{fmtBytes(v.size)}</dd></div>
            <div><dt>Uploaded</dt><dd>{fmtTime(v.created_at)}{uploader(v.version) ? ` by ${uploader(v.version)}` : ''}</dd></div>
            {v.status && <div><dt>Environment</dt><dd>{v.status}</dd></div>}
            <div class="wide"><dt>sha256</dt><dd><code>{v.sha256}</code></dd></div>
            <div class="wide"><dt>Inputs</dt><dd>{v.signature.inputs.map((t) => <code key={t.name} class="chip">{spec(t)}</code>)}</dd></div>
            <div class="wide"><dt>Outputs</dt><dd>{v.signature.outputs.map((t) => <code key={t.name} class="chip">{spec(t)}</code>)}</dd></div>
          </dl>
        </Card>
      ))}
    </>
  );
}
