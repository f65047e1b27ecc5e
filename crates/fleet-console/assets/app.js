// The shell: session, header, hash router, error banner, confirm dialog.
import { api, session, loadSession, signOut, role, isAdmin, SESSION_CHANGED } from './api.js';
import { refreshTimes, shortId, setClockFrozen, setServerNow } from './format.js';
import { el, clear } from './dom.js';

const PAGES = {
  overview: () => import('./pages/overview.js'),
  servers: () => import('./pages/servers.js'),
  server: () => import('./pages/server.js'),
  admin: () => import('./pages/admin.js'),
  signin: () => import('./pages/signin.js'),
};

const main = document.getElementById('main');
let current = null; // {abort, cleanups}
let navSeq = 0;
let notice = null; // a message for the next page drawn (route() clears the banner)

// ---- errors ---------------------------------------------------------------------------

const banner = document.getElementById('error-banner');
const bannerText = document.getElementById('error-text');

/** Show an error (an ApiError shows its problem's detail) in the #error-banner. */
function showError(err) {
  if (!err || err.name === 'AbortError') return;
  const text = err instanceof Error ? err.message : String(err);
  bannerText.textContent = text;
  banner.hidden = false;
}
function clearError() {
  banner.hidden = true;
  bannerText.textContent = '';
}
document.getElementById('error-dismiss').addEventListener('click', clearError);
window.addEventListener('unhandledrejection', (e) => {
  e.preventDefault();
  showError(e.reason);
});
window.addEventListener('error', (e) => {
  if (e.error) showError(e.error);
});

// ---- confirm dialog ------------------------------------------------------------------

const dialog = document.getElementById('confirm-dialog');

/** Ask in the <dialog>; resolves true when #confirm-yes is chosen. */
function confirmDialog(text, { title = 'Are you sure?', yes = 'Confirm', danger = false } = {}) {
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const yesBtn = document.getElementById('confirm-yes');
  yesBtn.textContent = yes;
  yesBtn.className = danger ? 'btn btn-primary btn-danger-fill' : 'btn btn-primary';
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'yes'), { once: true });
    dialog.showModal();
    document.getElementById('confirm-no').focus();
  });
}

// ---- header --------------------------------------------------------------------------

const whoami = document.getElementById('whoami');
const signoutBtn = document.getElementById('signout');

function renderHeader() {
  const out = session.mode === 'keys' && !session.signed_in;
  document.getElementById('nav-overview').hidden = out;
  document.getElementById('nav-servers').hidden = out;
  document.getElementById('nav-admin').hidden = out || !isAdmin();
  signoutBtn.hidden = !(session.mode === 'keys' && session.signed_in);
  if (out) {
    whoami.textContent = 'Not signed in';
    whoami.dataset.role = '';
  } else {
    const project = session.project_id ? shortId(session.project_id) : 'default';
    whoami.textContent = `project ${project} · ${role()}${session.mode === 'open' ? ' (open mode)' : ''}`;
    if (session.project_id) whoami.title = `project ${session.project_id}`;
    whoami.dataset.role = role();
  }
}

signoutBtn.addEventListener('click', async () => {
  try {
    await signOut();
  } catch (e) {
    showError(e);
    return;
  }
  renderHeader();
  go('#/signin');
});

window.addEventListener('fleet:unauthorized', () => {
  renderHeader();
  if (location.hash !== '#/signin') go('#/signin');
});

// The session cookie changed under this page (api.js read the session again after a
// refused CSRF token): draw the page again for the session there is now.
window.addEventListener('fleet:session-changed', () => {
  setClockFrozen(session.virtual_clock);
  renderHeader();
  notice = SESSION_CHANGED;
  route();
});

// ---- skip link -----------------------------------------------------------------------

// It moves the focus to <main> itself: following its href would change the hash.
document.getElementById('skip-link').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

// ---- router --------------------------------------------------------------------------

/** Whether `hash` is one of the router's ("#/…"); any other (an in-page "#main") is not. */
function isRoute(hash) {
  return hash.startsWith('#/');
}

/** "#/servers/<id>" → {page: 'server', id}; throws on a malformed escape. */
function parse(hash) {
  const path = (hash || '').replace(/^#\/?/, '').split('?')[0];
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts.length === 0) return { page: 'overview' };
  if (parts[0] === 'servers' && parts[1]) return { page: 'server', id: parts[1] };
  if (PAGES[parts[0]] && parts[0] !== 'server') return { page: parts[0] };
  return { page: 'notfound' };
}

function go(hash) {
  document.body.dataset.ready = 'false';
  if (location.hash === hash) route();
  else location.hash = hash;
}

function teardown() {
  if (!current) return;
  current.abort.abort();
  for (const f of current.cleanups) {
    try { f(); } catch { /* ignore */ }
  }
  current = null;
}

function markNav(page) {
  for (const id of ['overview', 'servers', 'admin']) {
    const a = document.getElementById(`nav-${id}`);
    const on = page === id || (id === 'servers' && page === 'server');
    if (on) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

/** What a page gets: its signal, parameters, cleanups and the shell's helpers. */
function pageContext(seq, r, abort) {
  const cleanups = [];
  return {
    signal: abort.signal,
    cleanups,
    params: r,
    // A cleanup registered after the page was left (a render still finishing) runs at once.
    onCleanup(f) {
      if (!abort.signal.aborted) { cleanups.push(f); return; }
      try { f(); } catch { /* ignore */ }
    },
    isCurrent: () => seq === navSeq,
    showError, confirm: confirmDialog, go,
    rerenderHeader: renderHeader,
  };
}

/** After a move the user asked for, the focus goes to the new page's heading (unless
 * the page put it somewhere itself), so a screen reader starts reading there. */
function focusPage() {
  if (main.contains(document.activeElement) && document.activeElement !== main) return;
  const h1 = main.querySelector('h1');
  if (h1) {
    h1.tabIndex = -1;
    h1.focus({ preventScroll: true });
  } else main.focus({ preventScroll: true });
}

async function route(e) {
  // A hash that is not a route ("#main", an in-page link) leaves the page as it is.
  if (!isRoute(location.hash)) return;
  const seq = ++navSeq;
  document.body.dataset.ready = 'false';
  teardown();
  clearError();
  const abort = new AbortController();
  current = { abort, cleanups: [] };
  const root = el('div', { class: 'page' });
  try {
    let r = parse(location.hash);
    const out = session.mode === 'keys' && !session.signed_in;
    if (out && r.page !== 'signin') { go('#/signin'); return; }
    if (!out && r.page === 'signin') { go('#/overview'); return; }
    if (r.page === 'admin' && !isAdmin()) r = { page: 'forbidden' };
    if (notice) { showError(notice); notice = null; }
    markNav(r.page);
    const ctx = pageContext(seq, r, abort);
    current.cleanups = ctx.cleanups;
    clear(main).append(root);
    if (r.page === 'notfound' || r.page === 'forbidden') {
      document.title = 'fleet console';
      root.append(el('h1', {}, r.page === 'notfound' ? 'Page not found' : 'Admins only'),
        el('p', {}, el('a', { href: '#/overview' }, 'Go to the overview')));
    } else {
      const [mod] = await Promise.all([PAGES[r.page](), r.page === 'signin' ? null : syncClock(abort.signal)]);
      if (seq !== navSeq) return;
      await mod.render(root, ctx);
    }
  } catch (err) {
    if (err.name === 'AbortError' || seq !== navSeq) return;
    if (!main.contains(root)) clear(main).append(root);
    showError(err);
  }
  if (seq === navSeq) {
    if (e?.type === 'hashchange') focusPage();
    // When the page was drawn, in ms since the document's navigation: the load time the
    // console's tests record. The route is said at the same moment, so a test can wait
    // for the page of the hash it set.
    document.body.dataset.readyMs = String(Math.round(performance.now()));
    document.body.dataset.route = location.hash;
    document.body.dataset.ready = 'true';
  }
}

// Relative times count from the service's now (a virtual clock may be far from ours).
async function syncClock(signal) {
  try {
    const c = session.virtual_clock && isAdmin()
      ? await api('/admin/clock', { signal, noAuthRedirect: true })
      : await api('/costs/forecast', { signal, noAuthRedirect: true });
    setServerNow(c.now);
  } catch { /* the page's own requests report errors */ }
}

window.addEventListener('hashchange', route);
setInterval(() => refreshTimes(main), 15000);

async function start() {
  try {
    await loadSession();
  } catch (e) {
    showError(e);
    clear(main).append(el('p', {}, 'The console session could not be read.'));
    document.body.dataset.route = location.hash;
    document.body.dataset.ready = 'true';
    return;
  }
  setClockFrozen(session.virtual_clock);
  renderHeader();
  if (!isRoute(location.hash) || location.hash === '#/') {
    history.replaceState(null, '', '#/overview');
  }
  route();
}

start();
