// The console's REST client: the signed-in token and current workspace ride on every call; an
// error answer becomes an ApiError carrying the server's message and stable code.

const TOKEN_KEY = 'bettong.token';
const WORKSPACE_KEY = 'bettong.workspace';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The token lives in sessionStorage: gone when the tab closes, never in a URL. Null: local mode (no token). */
export const session = {
  get token(): string | null { return sessionStorage.getItem(TOKEN_KEY); },
  set token(t: string | null) { t === null ? sessionStorage.removeItem(TOKEN_KEY) : sessionStorage.setItem(TOKEN_KEY, t); },
  get workspace(): string | null { return sessionStorage.getItem(WORKSPACE_KEY); },
  set workspace(w: string | null) { w === null ? sessionStorage.removeItem(WORKSPACE_KEY) : sessionStorage.setItem(WORKSPACE_KEY, w); },
  signedIn(): boolean { return sessionStorage.getItem('bettong.signed-in') === '1'; },
  signIn(token: string | null) { this.token = token; sessionStorage.setItem('bettong.signed-in', '1'); },
  signOut() { sessionStorage.clear(); },
};

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const h: Record<string, string> = { ...extra };
  if (session.token) h.authorization = `Bearer ${session.token}`;
  if (session.workspace) h['bettong-workspace'] = session.workspace;
  return h;
}

export async function request<T = any>(method: string, path: string, body?: unknown, opts: { raw?: boolean; contentType?: string } = {}): Promise<T> {
  const init: RequestInit = { method, headers: headers() };
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    init.body = body;
    (init.headers as Record<string, string>)['content-type'] = opts.contentType ?? 'application/octet-stream';
  } else if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  let res: Response;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the server did not answer ${method} ${path}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    let code = `HTTP_${res.status}`;
    let message = `${method} ${path} answered ${res.status}`;
    try {
      const j = await res.json();
      code = j.code ?? code;
      message = j.error ?? message;
    } catch { /* not JSON */ }
    throw new ApiError(res.status, code, message);
  }
  if (opts.raw) return (await res.text()) as T;
  return res.json() as Promise<T>;
}

export const api = {
  get: <T = any>(path: string) => request<T>('GET', path),
  post: <T = any>(path: string, body?: unknown) => request<T>('POST', path, body ?? {}),
  del: <T = any>(path: string) => request<T>('DELETE', path),
  text: (path: string) => request<string>('GET', path, undefined, { raw: true }),
};

export const q = (params: Record<string, string | number | boolean | undefined | null>) => {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') s.set(k, String(v));
  const t = s.toString();
  return t ? `?${t}` : '';
};

export const enc = encodeURIComponent;

/** Saves what `path` answers as a file: fetched with the token (a plain link could not send it). */
export async function download(path: string, filename: string, transform?: (text: string) => string): Promise<void> {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) {
    const j = await res.json().catch(() => ({}));
    throw new ApiError(res.status, j.code ?? `HTTP_${res.status}`, j.error ?? `${path} answered ${res.status}`);
  }
  const blob = transform ? new Blob([transform(await res.text())]) : await res.blob();
  const a = document.createElement('a');
  // The browser reads the blob after click() returns, for as long as a big file takes: a URL revoked
  // on a timer cut slow downloads short. The previous one is let go when the next download starts.
  if (lastDownload) URL.revokeObjectURL(lastDownload);
  lastDownload = a.href = URL.createObjectURL(blob);
  a.download = filename;
  a.click();
}
let lastDownload: string | undefined;
