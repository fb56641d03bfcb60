// The console's entry: sign-in, the frame (navigation, workspace switch, role) and the hash router.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, session } from './api.ts';
import { ErrorNote, type Me, MeContext, type Role } from './ui.tsx';
import { ModelsPage, ModelPage } from './pages/models.tsx';
import { PipelinesPage, PipelinePage } from './pages/pipelines.tsx';
import { LogsPage } from './pages/logs.tsx';
import { ExperimentsPage } from './pages/experiments.tsx';
import { AssaysPage, AssayPage, NewAssayPage } from './pages/assays.tsx';
import { MonitorsPage, MonitorPage } from './pages/monitors.tsx';
import { AccessPage } from './pages/access.tsx';
import './styles.css';

const NAV = [
  ['models', 'Models'], ['pipelines', 'Pipelines'], ['logs', 'Inference logs'],
  ['experiments', 'Experiments'], ['assays', 'Assays'], ['monitors', 'Monitors'], ['access', 'Access'],
] as const;

function useHash(): string[] {
  const read = () => location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  const [parts, setParts] = useState(read);
  useEffect(() => {
    const on = () => setParts(read());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return parts;
}

async function loadMe(): Promise<Me> {
  const who = await api.get<{ user: string; admin: boolean; token: { workspace: string | null } | null }>('/v1/whoami');
  const { workspaces } = await api.get<{ workspaces: { name: string; role: Role | null }[] }>('/v1/workspaces');
  const pinned = who.token?.workspace;
  let ws = workspaces.find((w) => w.name === (pinned ?? session.workspace)) ?? workspaces[0];
  if (!ws) throw new ApiError(403, 'NO_WORKSPACE', `user '${who.user}' is not a member of any workspace: ask an owner to add you`);
  session.workspace = ws.name;
  return { user: who.user, admin: who.admin, role: ws.role ?? (who.admin ? 'admin' : null), workspace: ws.name, workspaces };
}

function SignIn({ onDone, error }: { onDone: (token: string | null) => void; error: unknown }) {
  const [token, setToken] = useState('');
  return (
    <main class="signin">
      <form class="card signin-card" onSubmit={(e) => { e.preventDefault(); onDone(token.trim() || null); }}>
        <div class="brand brand-big"><Logo /> Bettong</div>
        <h1>Sign in to the console</h1>
        <p class="muted">Paste an API token (<code>bettong token create</code> makes one). It is kept in this tab only, and forgotten when the tab closes.</p>
        <label for="token">API token</label>
        <input id="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} placeholder="bt_…" />
        <ErrorNote error={error} />
        <button class="btn btn-primary wide" type="submit">{token ? 'Sign in' : 'Continue without a token (local mode)'}</button>
      </form>
    </main>
  );
}

function Logo() {
  return <svg width="22" height="22" viewBox="0 0 24 24" aria-hidden="true"><rect width="24" height="24" rx="6" fill="#2563eb" /><path d="M7 17V7h6a3 3 0 0 1 0 6H7m6 0a3 3 0 0 1 0 6" stroke="#fff" stroke-width="2" fill="none" /></svg>;
}

function Route({ parts }: { parts: string[] }) {
  const [page, a, b] = parts;
  switch (page) {
    case 'models': return a ? <ModelPage name={a} /> : <ModelsPage />;
    case 'pipelines': return a ? <PipelinePage name={a} /> : <PipelinesPage />;
    case 'logs': return <LogsPage pipeline={a} />;
    case 'experiments': return <ExperimentsPage pipeline={a} />;
    case 'assays': return a === 'new' ? <NewAssayPage /> : a ? <AssayPage name={a} window={b} /> : <AssaysPage />;
    case 'monitors': return a ? <MonitorPage name={a} /> : <MonitorsPage />;
    case 'access': return <AccessPage />;
    default: return <PipelinesPage />;
  }
}

function App() {
  const parts = useHash();
  const [me, setMe] = useState<Me | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [ready, setReady] = useState(!session.signedIn());

  const start = () => loadMe().then((m) => { setMe(m); setError(null); }, (e) => { setError(e); if (e instanceof ApiError && e.status === 401) session.signOut(); }).finally(() => setReady(true));
  useEffect(() => { if (session.signedIn()) void start(); }, []);

  if (!ready) return null;
  if (!me) return <SignIn error={error} onDone={(t) => { session.signIn(t); void start(); }} />;

  const switchTo = (w: string) => { session.workspace = w; void start(); };
  return (
    <MeContext.Provider value={me}>
      <a class="skip" href="#main">Skip to content</a>
      <div class="frame">
        <nav class="side" aria-label="Main">
          <div class="brand"><Logo /> Bettong</div>
          <ul>
            {NAV.map(([id, label]) => (
              <li key={id}><a href={`#/${id}`} aria-current={(parts[0] ?? 'pipelines') === id ? 'page' : undefined}>{label}</a></li>
            ))}
          </ul>
          <div class="side-foot">
            <label for="ws">Workspace</label>
            <select id="ws" value={me.workspace} onChange={(e) => switchTo((e.target as HTMLSelectElement).value)}>
              {me.workspaces.map((w) => <option key={w.name} value={w.name}>{w.name}</option>)}
            </select>
            <p class="who"><span>{me.user}</span> <span class="role" data-testid="role">{me.role ?? 'no role'}</span></p>
            <button class="btn btn-ghost" type="button" onClick={() => { session.signOut(); setMe(null); location.hash = ''; }}>Sign out</button>
          </div>
        </nav>
        <main id="main" class="main" key={me.workspace}>
          <Route parts={parts} />
        </main>
      </div>
    </MeContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
