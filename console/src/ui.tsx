// Shared building blocks of the console's pages: data loading, error and empty states, tables,
// badges, a confirm dialog, and the caller's role (what to show or disable).
import { createContext, type ComponentChildren } from 'preact';
import { useCallback, useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

export type Role = 'owner' | 'editor' | 'viewer' | 'admin';
export type Action = 'write' | 'deploy' | 'members' | 'audit';

/** Mirrors the server's role table (src/access/roles.ts) to hide what the server would refuse. */
export const allowed = (role: Role | null, action: Action): boolean => {
  if (role === 'owner' || role === 'admin') return true;
  if (role === 'editor') return action === 'write' || action === 'deploy';
  return false;
};

export interface Me { user: string; admin: boolean; role: Role | null; workspace: string; workspaces: { name: string; role: Role | null }[] }
export const MeContext = createContext<Me | null>(null);
export const useMe = () => useContext(MeContext)!;
export const useCan = (action: Action) => allowed(useMe().role, action);

export interface Loaded<T> { data: T | undefined; error: unknown; loading: boolean; reload: () => void }

/** Loads `fn` when `deps` change; `every` ms: refresh in place (live views). */
export function useLoad<T>(fn: () => Promise<T>, deps: unknown[], every?: number): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: unknown; loading: boolean }>({ loading: true });
  const gen = useRef(0);
  const run = useCallback(() => {
    const mine = ++gen.current;
    fn().then(
      (data) => { if (mine === gen.current) setState({ data, loading: false }); },
      (error) => { if (mine === gen.current) setState((s) => ({ data: s.data, error, loading: false })); },
    );
  }, deps);
  useEffect(() => {
    setState((s) => ({ ...s, loading: true }));
    run();
    if (!every) return;
    const id = setInterval(run, every);
    return () => clearInterval(id);
  }, [run, every]);
  return { data: state.data, error: state.error, loading: state.loading, reload: run };
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  return (
    <div class="note note-error" role="alert">
      <strong>{e instanceof ApiError ? `${e.code}` : 'Error'}</strong> {e.message}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Loading() {
  return <p class="muted" aria-live="polite">Loading…</p>;
}

export function Badge({ status }: { status: string | null | undefined }) {
  const s = status ?? 'none';
  return <span class={`badge badge-${s.replace(/[^a-z_]/g, '')}`}>{s.replace('_', ' ')}</span>;
}

export function Card({ title, actions, children }: { title?: ComponentChildren; actions?: ComponentChildren; children: ComponentChildren }) {
  return (
    <section class="card">
      {(title || actions) && (
        <header class="card-head">
          {title && <h2>{title}</h2>}
          {actions && <div class="actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}

export function PageHead({ title, sub, actions }: { title: string; sub?: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <header class="page-head">
      <div>
        <h1>{title}</h1>
        {sub && <p class="muted">{sub}</p>}
      </div>
      {actions && <div class="actions">{actions}</div>}
    </header>
  );
}

/** A modal confirm: the native <dialog> keeps focus inside and closes on Escape. */
export function Confirm({ open, title, children, confirm, onConfirm, onClose }: {
  open: boolean; title: string; children: ComponentChildren; confirm: string; onConfirm: () => void; onClose: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" onClose={onClose}>
      <h2 id="confirm-title">{title}</h2>
      <div>{children}</div>
      <div class="actions end">
        <button type="button" class="btn" onClick={onClose}>Cancel</button>
        <button type="button" class="btn btn-primary" onClick={onConfirm}>{confirm}</button>
      </div>
    </dialog>
  );
}

export const fmtTime = (t: string | number | null | undefined) => (t === null || t === undefined ? '—' : new Date(t).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' }));
export const fmtBytes = (n: number) => (n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1048576).toFixed(1)} MiB`);
export const fmtNum = (x: number | null | undefined, digits = 3) => (x === null || x === undefined || Number.isNaN(x) ? '—' : Number.isInteger(x) ? String(x) : x.toPrecision(digits));
