// The fetch wrapper: same-origin credentials, CSRF token on every mutating request,
// RFC 7807 problems turned into ApiError (its message is the problem's detail), a 401 in
// keys mode reported to the shell, which shows the sign-in page, and a refused CSRF token
// (the session cookie changed, e.g. another tab signed in or out) answered by reading the
// session again and reporting it to the shell, which shows the page for that session.
import { sawServerTime } from './format.js';

export class ApiError extends Error {
  constructor(status, problem, fallback) {
    super(problem?.detail || problem?.title || fallback || `HTTP ${status}`);
    this.status = status;
    this.problem = problem || null;
  }
}

/** The console session (GET /console/session), shared by every module. */
export const session = {
  mode: 'open', signed_in: false, role: null, project_id: null, key_id: null,
  csrf_token: null, virtual_clock: false, loaded: false,
};

/** The session's role; GET /console/session always says it (open mode: admin). */
export function role() {
  return session.role;
}
export function canAct() {
  const r = role();
  return r === 'member' || r === 'admin';
}
export function isAdmin() {
  return role() === 'admin';
}

function setSession(data) {
  Object.assign(session, {
    mode: 'open', signed_in: false, role: null, project_id: null, key_id: null,
    csrf_token: null, virtual_clock: false,
  }, data || {}, { loaded: true });
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const CSRF_INVALID = 'urn:fleet:problem:csrf-token-invalid';
export const SESSION_CHANGED = 'The console session changed (signed in or out elsewhere, '
  + 'perhaps in another tab), so nothing was changed. The page now shows the current session: '
  + 'check it and try again.';

// One re-read of the session for however many requests were refused at once (a bulk action).
let resync = null;
function sessionChanged() {
  resync ??= loadSession()
    .then(() => { window.dispatchEvent(new CustomEvent('fleet:session-changed')); })
    .catch(() => {})
    .finally(() => { resync = null; });
  return resync;
}

/**
 * api('/servers', {method, body, query, contentType, signal}) → parsed JSON (null on 204).
 * Throws ApiError; an aborted request throws an AbortError, which callers ignore.
 */
export async function api(path, opts = {}) {
  const method = (opts.method || 'GET').toUpperCase();
  let url = path;
  if (opts.query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(opts.query)) {
      if (v == null || v === '') continue;
      if (Array.isArray(v)) v.forEach((x) => q.append(k, x));
      else q.append(k, v);
    }
    const s = q.toString();
    if (s) url += (url.includes('?') ? '&' : '?') + s;
  }
  const headers = { Accept: 'application/json' };
  if (opts.body !== undefined) headers['Content-Type'] = opts.contentType || 'application/json';
  if (MUTATING.has(method) && session.csrf_token) headers['X-CSRF-Token'] = session.csrf_token;
  let res;
  try {
    res = await fetch(url, {
      method, headers, credentials: 'same-origin', signal: opts.signal,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, null, 'The service cannot be reached (network error).');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!res.ok) {
    if (res.status === 401 && session.mode === 'keys' && !opts.noAuthRedirect) {
      session.signed_in = false;
      window.dispatchEvent(new CustomEvent('fleet:unauthorized'));
    }
    if (res.status === 403 && data?.type === CSRF_INVALID) {
      await sessionChanged();
      throw new ApiError(res.status, { ...data, detail: SESSION_CHANGED }, SESSION_CHANGED);
    }
    throw new ApiError(res.status, data, `${res.status} ${res.statusText}`);
  }
  return data;
}

export async function loadSession() {
  setSession(await api('/console/session', { noAuthRedirect: true }));
  return session;
}

export async function signIn(key) {
  setSession(await api('/console/session', { method: 'POST', body: { key }, noAuthRedirect: true }));
  return session;
}

export async function signOut() {
  await api('/console/session', { method: 'DELETE', noAuthRedirect: true });
  setSession({ mode: 'keys', signed_in: false });
}

const EVENT_TYPES = [
  'server.provisioned', 'server.action_requested', 'server.state_changed', 'server.billed',
  'server.reaped', 'server.updated', 'server.fault_injected', 'server.interruption_warning',
  'budget.threshold_crossed',
];

/**
 * Follow /events/stream (Server-Sent Events; each message's `event:` is its type and its
 * data the WatchEvent). EventSource reconnects on its own and resumes with Last-Event-ID.
 * Returns a function that closes the stream.
 */
export function openStream(query, onEvent, onStatus) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query || {})) if (v != null && v !== '') q.append(k, v);
  const url = '/events/stream' + (q.toString() ? `?${q}` : '');
  const es = new EventSource(url, { withCredentials: true });
  const handle = (msg) => {
    let ev;
    try { ev = JSON.parse(msg.data); } catch { return; }
    if (ev.at) sawServerTime(ev.at);
    onEvent(ev);
  };
  for (const t of EVENT_TYPES) es.addEventListener(t, handle);
  es.addEventListener('message', handle); // types added later arrive here if unnamed
  es.onopen = () => onStatus?.('live');
  es.onerror = () => {
    onStatus?.(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
    // In keys mode a 401 closes the stream for good: ask the session whether we are out.
    if (es.readyState === EventSource.CLOSED && session.mode === 'keys') {
      loadSession().then((s) => {
        if (!s.signed_in) window.dispatchEvent(new CustomEvent('fleet:unauthorized'));
      }).catch(() => {});
    }
  };
  return () => es.close();
}
