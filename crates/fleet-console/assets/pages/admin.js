// Admin (admins only): virtual clock, projects with quotas and keys, fault rules.
import { api, session } from '../api.js';
import { el, clear, select, field } from '../dom.js';
import { timeEl, absTime, setServerNow, shortId } from '../format.js';
import { getCatalog } from '../model.js';

const FAULT_KINDS = ['error', 'latency', 'capacity', 'launch_failure', 'slow', 'stuck', 'interruption', 'host_failure'];
const OPERATIONS = ['*', 'provision', 'get', 'list', 'update', 'action:start', 'action:stop', 'action:reboot', 'action:terminate', 'events', 'wait'];
const REQUEST_KINDS = new Set(['error', 'latency', 'capacity']);

export async function render(root, ctx) {
  document.title = 'Admin · fleet console';
  root.append(el('div', { class: 'page-head' }, el('h1', {}, 'Admin')));
  const tasks = [];
  if (session.virtual_clock) tasks.push(clockPanel(root, ctx));
  const projectsSection = el('section', { class: 'panel', 'aria-labelledby': 'h-projects' });
  const faultsSection = el('section', { class: 'panel', 'aria-labelledby': 'h-faults' });
  root.append(projectsSection, faultsSection);
  tasks.push(projectsPanel(projectsSection, ctx), faultsPanel(faultsSection, ctx));
  await Promise.all(tasks);
}

// ---- clock ---------------------------------------------------------------------------

async function clockPanel(root, ctx) {
  const now = el('time', { id: 'clock-now', class: 'mono' }, '…');
  const status = el('span', { class: 'muted small', role: 'status', id: 'clock-status' });
  const btns = [[60, '+1 minute'], [3600, '+1 hour'], [86400, '+1 day']].map(([s, label]) =>
    el('button', { type: 'button', class: 'btn', dataset: { advance: String(s) }, onclick: () => advance(s) }, label));
  const panel = el('section', { class: 'panel', 'aria-labelledby': 'h-clock', id: 'clock-panel' },
    el('h2', { id: 'h-clock' }, 'Virtual clock'),
    el('div', { class: 'row' }, el('span', {}, 'Now: '), now, el('span', { class: 'spacer' }), btns),
    el('p', { class: 'small' }, status));
  root.append(panel);
  function showNow(iso) {
    setServerNow(iso);
    now.dateTime = iso;
    now.dataset.now = iso;
    now.textContent = absTime(iso);
  }
  async function advance(seconds) {
    btns.forEach((b) => { b.disabled = true; });
    try {
      const r = await api('/admin/clock/advance', { method: 'POST', body: { seconds }, signal: ctx.signal });
      showNow(r.now);
      status.textContent = `Moved ${seconds} s: ${r.completed} transition${r.completed === 1 ? '' : 's'} completed, ${r.accrued} accrual${r.accrued === 1 ? '' : 's'}, ${r.reaped} reaped.`;
    } catch (e) { ctx.showError(e); } finally { btns.forEach((b) => { b.disabled = false; }); }
  }
  const read = () => api('/admin/clock', { signal: ctx.signal }).then((c) => showNow(c.now));
  await read();
  const t = setInterval(() => read().catch(ctx.showError), 10000);
  ctx.onCleanup(() => clearInterval(t));
}

// ---- projects, quotas, keys ----------------------------------------------------------

async function projectsPanel(section, ctx) {
  const { signal } = ctx;
  const listBody = el('tbody', { id: 'projects-body' });
  const detail = el('div', { id: 'project-detail' });
  const newName = el('input', { id: 'new-project-name', type: 'text', pattern: '[a-z0-9][a-z0-9-]{0,62}', maxlength: '63', placeholder: 'team-a', required: true });
  const createForm = el('form', { class: 'form-row', id: 'new-project-form' }, field('New project name', newName),
    el('button', { type: 'submit', class: 'btn btn-primary' }, 'Create project'));
  section.append(el('h2', { id: 'h-projects' }, 'Projects'),
    el('div', { class: 'table-wrap' }, el('table', { class: 'fixed', style: 'min-width:560px' },
      el('colgroup', {}, el('col', { style: 'width:30%' }), el('col', { style: 'width:8rem' }), el('col', { style: 'width:9rem' }), el('col', { style: 'width:9rem' })),
      el('thead', {}, el('tr', {}, ['Name', 'ID', 'Created', ''].map((h) => el('th', { scope: 'col' }, h)))), listBody)),
    el('div', { style: 'margin-top:.8rem' }, createForm), detail);
  let selectedId = null;

  async function loadList() {
    const list = await api('/projects', { signal });
    clear(listBody);
    for (const p of list.items) {
      listBody.append(el('tr', { dataset: { projectId: p.id } },
        el('td', {}, p.name), el('td', { class: 'mono', title: p.id }, shortId(p.id)), el('td', {}, timeEl(p.created_at)),
        el('td', {}, el('button', { type: 'button', class: 'btn btn-small', 'aria-label': `Manage project ${p.name}`,
          onclick: () => { selectedId = p.id; loadDetail().catch(ctx.showError); } }, 'Quotas & keys'))));
    }
    if (!selectedId && list.items.length) {
      selectedId = (list.items.find((p) => p.id === session.project_id) || list.items.find((p) => p.name === 'default') || list.items[0]).id;
    }
  }

  /** Draws the selected project's quotas and keys; `created` is a key just made, shown once. */
  async function loadDetail(created = null) {
    if (!selectedId) { clear(detail); return; }
    const id = selectedId;
    const [p, keys] = await Promise.all([
      api(`/projects/${id}`, { signal }),
      api(`/projects/${id}/keys`, { signal }),
    ]);
    for (const tr of listBody.children) tr.classList.toggle('selected', tr.dataset.projectId === id);
    const q = p.quotas;
    detail.replaceChildren(
      el('h3', {}, `Project ${p.name}`),
      el('p', { class: 'muted small' }, `Servers: ${q.servers}${q.max_servers != null ? ` of ${q.max_servers}` : ' (no limit)'} · vCPUs: ${q.vcpus}${q.max_vcpus != null ? ` of ${q.max_vcpus}` : ' (no limit)'}. Leave a field empty for no limit.`),
      ...quotaForm(ctx, id, q, () => loadDetail()),
      el('h3', {}, 'API keys'),
      ...keysSection(ctx, id, keys.items, loadDetail, created));
  }

  createForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const p = await api('/projects', { method: 'POST', body: { name: newName.value.trim() }, signal });
      newName.value = '';
      selectedId = p.id;
      await loadList();
      await loadDetail();
    } catch (err) { ctx.showError(err); }
  });

  await loadList();
  await loadDetail();
}

/** The quota form of project `id` (quotas `q`) and its status line. */
function quotaForm(ctx, id, q, reload) {
  const maxServers = el('input', { id: 'quota-servers', type: 'number', min: '0', max: '1000000', step: '1', value: q.max_servers ?? '', placeholder: 'no limit' });
  const maxVcpus = el('input', { id: 'quota-vcpus', type: 'number', min: '0', max: '1000000', step: '1', value: q.max_vcpus ?? '', placeholder: 'no limit' });
  const form = el('form', { class: 'form-row', id: 'quota-form' },
    field(`Max servers (using ${q.servers})`, maxServers), field(`Max vCPUs (using ${q.vcpus})`, maxVcpus),
    el('button', { type: 'submit', class: 'btn btn-primary' }, 'Save quotas'));
  const status = el('span', { role: 'status', class: 'status-line small' });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const num = (i) => (i.value.trim() === '' ? null : Number(i.value));
    try {
      await api(`/projects/${id}/quotas`, { method: 'PUT', body: { max_servers: num(maxServers), max_vcpus: num(maxVcpus) }, signal: ctx.signal });
      status.textContent = 'Quotas saved.';
      await reload();
    } catch (err) { ctx.showError(err); }
  });
  return [form, status];
}

/** Project `id`'s keys (revocable), a form for a new one, and the one just `created`. */
function keysSection(ctx, id, keys, reload, created) {
  const body = el('tbody', { id: 'keys-body' });
  for (const k of keys) {
    body.append(el('tr', { dataset: { keyId: k.id } },
      el('td', { class: 'mono', title: k.id }, shortId(k.id)), el('td', { title: k.description }, k.description || '—'), el('td', {}, k.role),
      el('td', {}, timeEl(k.created_at)), el('td', {}, k.last_used_at ? timeEl(k.last_used_at) : 'never'),
      el('td', {}, k.revoked_at ? el('span', { class: 'muted' }, 'revoked ', timeEl(k.revoked_at))
        : el('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Revoke key ${shortId(k.id)}`,
          onclick: () => revoke(k) }, 'Revoke'))));
  }
  async function revoke(k) {
    if (!(await ctx.confirm(`Revoke key ${shortId(k.id)} (${k.description || k.role})? Clients using it stop working at once.`, { title: 'Revoke key', yes: 'Revoke', danger: true }))) return;
    try { await api(`/keys/${k.id}`, { method: 'DELETE', signal: ctx.signal }); await reload(); } catch (err) { ctx.showError(err); }
  }

  const desc = el('input', { id: 'new-key-description', type: 'text', maxlength: '200', placeholder: 'CI pipeline' });
  const role = select('new-key-role', ['viewer', 'member', 'admin'], { value: 'member' });
  const form = el('form', { class: 'form-row', id: 'new-key-form' }, field('Description', desc), field('Role', role),
    el('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key'));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const k = await api(`/projects/${id}/keys`, { method: 'POST', body: { description: desc.value.trim(), role: role.value }, signal: ctx.signal });
      await reload(k);
    } catch (err) { ctx.showError(err); }
  });

  // The secret is not in a live region (a screen reader would read it out); the status
  // line says a key was made, and the secret is there to copy.
  const announce = el('p', { role: 'status', class: 'status-line small', id: 'new-key-status' });
  const secretBox = el('div', { id: 'new-key-secret' });
  if (created) {
    // shown once, never stored
    secretBox.append(newKeyNotice(created, () => { secretBox.replaceChildren(); announce.textContent = ''; }));
    // set once the status line is in the page, so it is announced
    setTimeout(() => { announce.textContent = 'Key created; copy it now: it is shown only this once.'; }, 0);
  }

  return [
    el('div', { class: 'table-wrap' }, el('table', { class: 'fixed', style: 'min-width:720px' },
      el('colgroup', {}, ['7rem', '30%', '6rem', '8rem', '8rem', '11rem'].map((w) => el('col', { style: `width:${w}` }))),
      el('thead', {}, el('tr', {}, ['ID', 'Description', 'Role', 'Created', 'Last used', ''].map((h) => el('th', { scope: 'col' }, h)))),
      body)),
    keys.length ? null : el('p', { class: 'muted small' }, 'No keys.'),
    el('div', { style: 'margin-top:.6rem' }, form), announce, secretBox].filter(Boolean);
}

function newKeyNotice(k, done) {
  return el('div', { class: 'notice ok' },
    el('p', {}, `Key ${shortId(k.id)} (${k.role}) created. Copy it now: it is shown only this once.`),
    el('code', { class: 'secret', id: 'new-key-text' }, k.key),
    el('div', { class: 'row', style: 'margin-top:.5rem' },
      el('button', { type: 'button', class: 'btn', onclick: (ev) => {
        navigator.clipboard?.writeText(k.key).then(() => { ev.target.textContent = 'Copied'; }, () => { ev.target.textContent = 'Select the text to copy'; });
      } }, 'Copy'),
      el('button', { type: 'button', class: 'btn btn-quiet', onclick: done }, 'Done')));
}

// ---- fault rules ---------------------------------------------------------------------

async function faultsPanel(section, ctx) {
  const { signal } = ctx;
  const catalog = await getCatalog(signal);
  const body = el('tbody', { id: 'faults-body' });
  const empty = el('p', { class: 'empty', hidden: true }, 'No fault rules.');

  const kind = select('fault-kind', FAULT_KINDS, { value: 'error' });
  const op = select('fault-operation', OPERATIONS, { any: 'Any it applies to' });
  const prob = el('input', { id: 'fault-probability', type: 'number', min: '0', max: '1', step: '0.05', value: '1' });
  const region = select('fault-region', catalog.regions.map((r) => r.name), { any: 'Every region' });
  const stype = select('fault-type', catalog.server_types.map((t) => t.name), { any: 'Every type' });
  const selector = el('input', { id: 'fault-selector', type: 'text', placeholder: 'env=test (optional)', spellcheck: 'false' });
  const maxCount = el('input', { id: 'fault-max-count', type: 'number', min: '1', step: '1', placeholder: 'unlimited' });
  const status = select('fault-status', ['503', '500', '502', '504', '429'], { value: '503' });
  const ms = el('input', { id: 'fault-ms', type: 'number', min: '0', max: '30000', step: '50', value: '500' });
  const rate = el('input', { id: 'fault-rate', type: 'number', min: '0.001', max: '3600', step: 'any', value: '1' });
  const factor = el('input', { id: 'fault-factor', type: 'number', min: '1', max: '10000', step: 'any', value: '10' });
  const interruptAction = select('fault-interruption-action', ['terminate', 'stop'], { value: 'terminate' });
  const effectFields = {
    error: [field('Status', status)],
    latency: [field('Delay (ms)', ms)],
    slow: [field('Factor', factor)],
    interruption: [field('Rate per hour', rate), field('Then', interruptAction)],
    host_failure: [field('Rate per hour', rate)],
  };
  const effectBox = el('div', { class: 'form-row' });
  const opField = field('Operation', op);
  function syncKind() {
    effectBox.replaceChildren(...(effectFields[kind.value] || []));
    opField.hidden = !REQUEST_KINDS.has(kind.value);
  }
  kind.addEventListener('change', syncKind);
  syncKind();
  const form = el('form', { class: 'stack', id: 'new-fault-form' },
    el('div', { class: 'form-row' }, field('Kind', kind), opField, field('Probability', prob), field('Region', region), field('Type', stype),
      el('div', { class: 'field', style: 'flex:1 1 10rem' }, el('label', { for: 'fault-selector' }, 'Label selector'), selector), field('Max count', maxCount)),
    el('div', { class: 'form-row' }, effectBox, el('button', { type: 'submit', class: 'btn btn-primary' }, 'Add rule')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const effect = { kind: kind.value };
    if (kind.value === 'error') effect.status = Number(status.value);
    if (kind.value === 'latency') effect.ms = Number(ms.value);
    if (kind.value === 'slow') effect.factor = Number(factor.value);
    if (kind.value === 'interruption' || kind.value === 'host_failure') effect.rate_per_hour = Number(rate.value);
    if (kind.value === 'interruption') effect.action = interruptAction.value;
    const req = { effect, probability: Number(prob.value) };
    if (op.value && REQUEST_KINDS.has(kind.value)) req.operations = [op.value];
    if (region.value) req.regions = [region.value];
    if (stype.value) req.server_types = [stype.value];
    if (selector.value.trim()) req.label_selector = selector.value.trim();
    if (maxCount.value) req.max_count = Number(maxCount.value);
    try { await api('/faults', { method: 'POST', body: req, signal }); await load(); } catch (err) { ctx.showError(err); }
  });

  section.append(el('h2', { id: 'h-faults' }, 'Fault rules'),
    el('div', { class: 'table-wrap' }, el('table', { class: 'fixed', style: 'min-width:900px' },
      el('colgroup', {}, ['7rem', '16%', '14%', '6rem', '16%', '14%', '5rem', '8rem', '6rem'].map((w) => el('col', { style: `width:${w}` }))),
      el('thead', {}, el('tr', {}, ['ID', 'Effect', 'Operations', 'Prob.', 'Where', 'Selector', 'Fired', 'Created', ''].map((h) => el('th', { scope: 'col' }, h)))),
      body), empty),
    el('h3', {}, 'Add a rule'), form);

  async function load() {
    const items = [];
    let cursor = null;
    for (let i = 0; i < 10; i++) {
      const page = await api('/faults', { query: { limit: 100, cursor }, signal });
      items.push(...page.items);
      cursor = page.next_cursor;
      if (!cursor) break;
    }
    clear(body);
    for (const r of items) {
      const where = [...(r.regions || []), ...(r.server_types || [])].join(', ') || 'everywhere';
      body.append(el('tr', { dataset: { faultId: r.id } },
        el('td', { class: 'mono', title: r.id }, shortId(r.id)),
        el('td', { title: JSON.stringify(r.effect) }, effectText(r.effect)),
        el('td', {}, (r.operations || []).join(', ') || '—'),
        el('td', { class: 'num' }, String(r.probability)),
        el('td', { title: where }, where),
        el('td', { class: 'mono', title: r.label_selector || '' }, r.label_selector || '—'),
        el('td', { class: 'num', dataset: { fired: String(r.fired) } }, `${r.fired}${r.max_count ? ` / ${r.max_count}` : ''}`),
        el('td', {}, timeEl(r.created_at)),
        el('td', {}, el('button', { type: 'button', class: 'btn btn-small btn-danger', 'aria-label': `Remove fault rule ${shortId(r.id)}`,
          onclick: () => remove(r) }, 'Remove'))));
    }
    empty.hidden = items.length > 0;
  }
  async function remove(r) {
    if (!(await ctx.confirm(`Remove the ${r.effect.kind} rule ${shortId(r.id)}?`, { title: 'Remove fault rule', yes: 'Remove', danger: true }))) return;
    try { await api(`/faults/${r.id}`, { method: 'DELETE', signal }); await load(); } catch (err) { ctx.showError(err); }
  }
  await load();
  const t = setInterval(() => load().catch(ctx.showError), 15000); // `fired` counts move
  ctx.onCleanup(() => clearInterval(t));
}

function effectText(e) {
  const extra = Object.entries(e).filter(([k]) => k !== 'kind').map(([k, v]) => `${k}=${v}`);
  return extra.length ? `${e.kind} (${extra.join(', ')})` : e.kind;
}
