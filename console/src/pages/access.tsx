// Access: the workspace's members and roles, the caller's API tokens (a new secret shown once;
// revoke), and the audit log with filters (owners).
import { useState } from 'preact/hooks';
import { api, enc, q } from '../api.ts';
import { Badge, Card, Confirm, ErrorNote, Loading, PageHead, fmtTime, useCan, useLoad, useMe } from '../ui.tsx';

function Members() {
  const canManage = useCan('members');
  const list = useLoad(() => api.get<{ members: { user: string; role: string; since: string }[] }>('/v1/members'), []);
  const [user, setUser] = useState('');
  const [role, setRole] = useState('viewer');
  const [error, setError] = useState<unknown>(null);
  const act = (p: Promise<unknown>) => p.then(() => { setError(null); list.reload(); }, setError);
  return (
    <Card title="Members">
      <ErrorNote error={list.error ?? error} />
      {!list.data ? <Loading /> : (
        <table>
          <thead><tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Since</th>{canManage && <th scope="col"><span class="sr-only">Actions</span></th>}</tr></thead>
          <tbody>{list.data.members.map((m) => (
            <tr key={m.user}><td>{m.user}</td>
              <td>{canManage ? (
                <select aria-label={`Role of ${m.user}`} value={m.role} onChange={(e) => act(api.post('/v1/members', { user: m.user, role: (e.target as HTMLSelectElement).value }))}>
                  {['owner', 'editor', 'viewer'].map((r) => <option key={r}>{r}</option>)}
                </select>) : <Badge status={m.role} />}</td>
              <td>{fmtTime(m.since)}</td>
              {canManage && <td><button type="button" class="btn btn-small" onClick={() => act(api.del(`/v1/members/${enc(m.user)}`))}>Remove</button></td>}
            </tr>
          ))}</tbody>
        </table>
      )}
      {canManage && (
        <form class="form-row" aria-label="Add a member" onSubmit={(e) => { e.preventDefault(); void act(api.post('/v1/members', { user, role })); }}>
          <div class="field"><label for="mem-user">User</label><input id="mem-user" required value={user} onInput={(e) => setUser((e.target as HTMLInputElement).value)} /></div>
          <div class="field"><label for="mem-role">Role</label><select id="mem-role" value={role} onChange={(e) => setRole((e.target as HTMLSelectElement).value)}>{['viewer', 'editor', 'owner'].map((r) => <option key={r}>{r}</option>)}</select></div>
          <button class="btn" type="submit">Add member</button>
        </form>
      )}
    </Card>
  );
}

interface Token { name: string; user: string; workspace: string | null; inference_only: boolean; expires_at: string | null; created_at: string; last_used_at: string | null }

function Tokens() {
  const me = useMe();
  const list = useLoad(() => api.get<{ tokens: Token[] }>('/v1/tokens'), []);
  const [name, setName] = useState('');
  const [scoped, setScoped] = useState(true);
  const [inferenceOnly, setInferenceOnly] = useState(false);
  const [expires, setExpires] = useState('90d');
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const [revoke, setRevoke] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const r = await api.post<{ token: Token; secret: string }>('/v1/tokens', { name, ...(scoped ? { workspace: me.workspace } : {}), inference_only: inferenceOnly, ...(expires ? { expires_in: expires } : {}) });
      setSecret({ name: r.token.name, secret: r.secret });
      setName('');
      list.reload();
    } catch (err) { setError(err); }
  };
  const doRevoke = async () => {
    const n = revoke!;
    setRevoke(null);
    try {
      await api.del(`/v1/tokens/${enc(n)}`);
      if (secret?.name === n) setSecret(null);
      list.reload();
    } catch (err) { setError(err); }
  };
  return (
    <Card title="Your API tokens">
      <ErrorNote error={list.error ?? error} />
      {secret && (
        <div class="note note-ok" role="status">
          <p><strong>Token {secret.name} created.</strong> Copy its secret now: it is shown this once and stored only as a hash.</p>
          <div class="inline"><code class="secret" data-testid="new-secret">{secret.secret}</code>
            <button type="button" class="btn btn-small" onClick={() => navigator.clipboard?.writeText(secret.secret)}>Copy</button>
            <button type="button" class="btn btn-small btn-ghost" onClick={() => setSecret(null)}>Done</button></div>
        </div>
      )}
      {!list.data ? <Loading /> : (
        <table>
          <thead><tr><th scope="col">Token</th><th scope="col">Workspace</th><th scope="col">Scope</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>{list.data.tokens.map((t) => (
            <tr key={t.name}><td>{t.name}</td><td>{t.workspace ?? 'all'}</td><td>{t.inference_only ? 'inference only' : 'full'}</td>
              <td>{fmtTime(t.created_at)}</td><td>{fmtTime(t.last_used_at)}</td><td>{t.expires_at ? fmtTime(t.expires_at) : 'never'}</td>
              <td><button type="button" class="btn btn-small btn-danger" onClick={() => setRevoke(t.name)}>Revoke</button></td></tr>
          ))}</tbody>
        </table>
      )}
      <form class="form-row" aria-label="Create a token" onSubmit={create}>
        <div class="field"><label for="t-name">Name</label><input id="t-name" required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} placeholder="ci-deploy" /></div>
        <div class="field"><label for="t-exp">Expires in</label><select id="t-exp" value={expires} onChange={(e) => setExpires((e.target as HTMLSelectElement).value)}>
          <option value="1d">1 day</option><option value="30d">30 days</option><option value="90d">90 days</option><option value="">never</option></select></div>
        <label class="check"><input type="checkbox" checked={scoped} onChange={(e) => setScoped((e.target as HTMLInputElement).checked)} /> Only workspace {me.workspace}</label>
        <label class="check"><input type="checkbox" checked={inferenceOnly} onChange={(e) => setInferenceOnly((e.target as HTMLInputElement).checked)} /> Inference only</label>
        <button class="btn btn-primary" type="submit">Create token</button>
      </form>
      <Confirm open={revoke !== null} title={`Revoke token ${revoke}?`} confirm="Revoke" onConfirm={doRevoke} onClose={() => setRevoke(null)}>
        <p>Every request with it is refused from the next one on. This cannot be undone.</p>
      </Confirm>
    </Card>
  );
}

interface AuditRecord { id: number; time: string; user: string | null; token: string | null; action: string; target: string | null; outcome: string; status: number; error: string | null; detail: Record<string, unknown> }

function Audit() {
  const [action, setAction] = useState('');
  const [since, setSince] = useState('24h');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const start = { '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000, all: 0 }[since]!;
  const page = useLoad(() => api.get<{ records: AuditRecord[]; next_cursor: string | null }>(`/v1/audit${q({ action, start: start ? Date.now() - start : undefined, limit: 50, cursor: cursors.at(-1) })}`), [action, since, cursors]);
  return (
    <Card title="Audit log" actions={<>
      <button type="button" class="btn btn-small" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>← Newer</button>
      <button type="button" class="btn btn-small" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data!.next_cursor!])}>Older →</button>
    </>}>
      <div class="form-row">
        <div class="field"><label for="au-action">Action</label>
          <select id="au-action" value={action} onChange={(e) => { setAction((e.target as HTMLSelectElement).value); setCursors([undefined]); }}>
            <option value="">All actions</option>
            {['model.', 'pipeline.', 'assay.', 'token.', 'member.', 'workspace.'].map((a) => <option key={a} value={a}>{a}*</option>)}
            {['pipeline.deploy', 'pipeline.swap', 'pipeline.undeploy', 'token.revoke'].map((a) => <option key={a} value={a}>{a}</option>)}
          </select></div>
        <div class="field"><label for="au-since">Since</label>
          <select id="au-since" value={since} onChange={(e) => { setSince((e.target as HTMLSelectElement).value); setCursors([undefined]); }}>
            <option value="1h">Last hour</option><option value="24h">Last 24 hours</option><option value="7d">Last 7 days</option><option value="all">All time</option></select></div>
      </div>
      <ErrorNote error={page.error} />
      {!page.data ? <Loading /> : page.data.records.length === 0 ? <p class="muted">No audit records match.</p> : (
        <div class="scroll" tabIndex={0} role="region" aria-label="Audit records">
          <table data-testid="audit">
            <thead><tr><th scope="col">Time</th><th scope="col">User</th><th scope="col">Token</th><th scope="col">Action</th><th scope="col">Target</th><th scope="col">Outcome</th><th scope="col">Detail</th></tr></thead>
            <tbody>{page.data.records.map((r) => (
              <tr key={r.id}><td>{fmtTime(r.time)}</td><td>{r.user ?? '—'}</td><td>{r.token ?? '—'}</td><td><code>{r.action}</code></td><td>{r.target ?? '—'}</td>
                <td><Badge status={r.outcome} />{r.error ? <span class="muted"> {r.error}</span> : ''}</td>
                <td class="detail">{Object.keys(r.detail ?? {}).length ? <code>{JSON.stringify(r.detail)}</code> : ''}</td></tr>
            ))}</tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

export function AccessPage() {
  const me = useMe();
  const canAudit = useCan('audit');
  return (
    <>
      <PageHead title="Access" sub={<>Signed in as <strong>{me.user}</strong>{me.admin ? ' (platform admin)' : ''}, {me.role ?? 'no role'} in workspace <strong>{me.workspace}</strong>.</>} />
      <Tokens />
      <Members />
      {canAudit ? <Audit /> : <Card title="Audit log"><p class="muted">The audit log is for the workspace's owners.</p></Card>}
    </>
  );
}
