// Servers: filtered, cursor-paged table (50 a page) updated in place from the event
// stream, multi-select bulk actions, and a form to create a server.
import { api, openStream, canAct, session } from '../api.js';
import { el, clear, badge, setBadge, select, field } from '../dom.js';
import { timeEl, setTime, shortId, capitalize, money } from '../format.js';
import { STATES, ACTIONS, getCatalog, parseLabels, selectorMatches } from '../model.js';
import { streamStatus } from '../events.js';

const PAGE = 50;

// Kept across navigation, so coming back from a server shows the same list; but only for
// the same session: signing in with another key (or to another project) starts afresh.
let view = null;
let viewOwner = null;
function currentView() {
  const owner = `${session.key_id ?? ''}|${session.project_id ?? ''}`;
  if (!view || viewOwner !== owner) {
    view = { filters: { state: '', region: '', type: '', label_selector: '' }, cursors: [null] };
    viewOwner = owner;
  }
  return view;
}

export async function render(root, ctx) {
  document.title = 'Servers · fleet console';
  const v = currentView();
  const acting = canAct();
  const catalog = await getCatalog(ctx.signal);
  const regions = catalog.regions.map((r) => r.name);
  const types = catalog.server_types.map((t) => t.name);

  const list = serversList(ctx, v, acting);
  const live = streamStatus();
  const filters = filtersPanel(v, regions, types, () => {
    v.cursors = [null];
    list.load().catch(ctx.showError);
  });
  const refresh = el('button', { type: 'button', class: 'btn btn-quiet', id: 'refresh', onclick: () => list.load().catch(ctx.showError) }, 'Refresh');

  root.append(...[
    el('div', { class: 'page-head' }, el('h1', {}, 'Servers'), el('span', { class: 'spacer' }), live.node, refresh),
    filters,
    acting ? createPanel(ctx, catalog, regions, list.addIfBelongs) : null, // not rendered at all for viewers
    list.bulkBar,
    list.tableWrap,
    list.pager].filter(Boolean));

  followStream(ctx, list, live.update);
  await list.load();
}

// ---- filters ---------------------------------------------------------------------------

function filtersPanel(v, regions, types, onApply) {
  const f = v.filters;
  const fState = select('filter-state', STATES, { any: 'Any state', value: f.state });
  const fRegion = select('filter-region', regions, { any: 'Any region', value: f.region });
  const fType = select('filter-type', types, { any: 'Any type', value: f.type });
  const fLabels = el('input', { id: 'filter-labels', type: 'text', value: f.label_selector, placeholder: 'env=prod,tier in (web,api)', spellcheck: 'false' });
  const form = el('form', { class: 'panel form-row', role: 'search', 'aria-label': 'Filter servers' },
    field('State', fState), field('Region', fRegion), field('Type', fType),
    el('div', { class: 'field', style: 'flex:1 1 14rem' }, el('label', { for: 'filter-labels' }, 'Label selector'), fLabels),
    el('button', { type: 'submit', class: 'btn btn-primary', id: 'filter-apply' }, 'Apply'),
    el('button', { type: 'button', class: 'btn', id: 'filter-reset', onclick: () => {
      fState.value = fRegion.value = fType.value = fLabels.value = '';
      form.requestSubmit();
    } }, 'Reset'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(v.filters, { state: fState.value, region: fRegion.value, type: fType.value, label_selector: fLabels.value.trim() });
    onApply();
  });
  return form;
}

// ---- create form (members and admins only) ---------------------------------------------

function createPanel(ctx, catalog, regions, onCreated) {
  const cName = el('input', { id: 'new-name', type: 'text', maxlength: '64', placeholder: 'web-1 (optional)' });
  const cRegion = select('new-region', regions);
  const cType = select('new-type', catalog.server_types.map((t) => ({ value: t.name, label: `${t.name} · ${t.vcpus} vCPU · ${t.memory_mib} MiB · ${money(t.hourly_price)}/h` })));
  const cLabels = el('input', { id: 'new-labels', type: 'text', placeholder: 'env=dev, team=web (optional)', spellcheck: 'false' });
  const cMsg = el('p', { class: 'status-line', role: 'status', id: 'new-status' });
  const cSubmit = el('button', { type: 'submit', class: 'btn btn-primary', id: 'new-submit' }, 'Create server');
  const form = el('form', { class: 'form-row', id: 'new-server-form' },
    field('Name', cName), field('Region', cRegion), field('Type', cType),
    el('div', { class: 'field', style: 'flex:1 1 12rem' }, el('label', { for: 'new-labels' }, 'Labels'), cLabels), cSubmit);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    cMsg.textContent = '';
    let labels;
    try { labels = parseLabels(cLabels.value); } catch (err) { ctx.showError(err); return; }
    const body = { region: cRegion.value, type: cType.value };
    if (cName.value.trim()) body.name = cName.value.trim();
    if (Object.keys(labels).length) body.labels = labels;
    cSubmit.disabled = true;
    try {
      const s = await api('/servers', { method: 'POST', body, signal: ctx.signal });
      cName.value = '';
      cMsg.replaceChildren('Created ', el('a', { href: `#/servers/${s.id}` }, s.name), ` in ${s.region}; it is ${s.state}.`);
      onCreated(s);
    } catch (err) { ctx.showError(err); } finally { cSubmit.disabled = false; }
  });
  return el('details', { class: 'panel', id: 'new-server' },
    el('summary', {}, el('strong', {}, 'New server')), el('div', { style: 'margin-top:.6rem' }, form, cMsg));
}

// ---- the table, its pager, selection and bulk bar --------------------------------------

function serversList(ctx, v, acting) {
  const rows = new Map(); // id → {tr, server, cells, at}
  const selected = new Set();
  let nextCursor = null;

  const selectAll = acting ? el('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select all servers on this page' }) : null;
  const tbody = el('tbody', { id: 'servers-body' });
  const emptyMsg = el('p', { class: 'empty', hidden: true }, 'No servers match.');
  const tableWrap = el('div', { class: 'table-wrap' }, serversTable(acting, selectAll, tbody), emptyMsg);
  const prev = el('button', { type: 'button', class: 'btn', id: 'page-prev', onclick: () => { v.cursors.pop(); load().catch(ctx.showError); } }, '← Previous page');
  const next = el('button', { type: 'button', class: 'btn', id: 'page-next', onclick: () => { v.cursors.push(nextCursor); load().catch(ctx.showError); } }, 'Next page →');
  const pageInfo = el('span', { class: 'muted small', id: 'page-info' });
  const pager = el('div', { class: 'pager' }, prev, next, pageInfo);
  const bulk = acting ? bulkBar(ctx, selected, rows) : null;

  const onSelect = (id, on) => { if (on) selected.add(id); else selected.delete(id); syncSelection(); };
  const rowOf = (s) => {
    const row = buildRow(s, acting, selected.has(s.id), onSelect, ctx.go);
    rows.set(s.id, row);
    tbody.append(row.tr);
  };

  function syncSelection() {
    for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
    if (!acting) return;
    bulk.sync();
    selectAll.checked = rows.size > 0 && selected.size === rows.size;
    selectAll.indeterminate = selected.size > 0 && selected.size < rows.size;
  }
  selectAll?.addEventListener('change', () => {
    for (const [id, r] of rows) {
      r.cells.checkbox.checked = selectAll.checked;
      if (selectAll.checked) selected.add(id); else selected.delete(id);
    }
    syncSelection();
  });

  const showPageInfo = () => {
    pageInfo.textContent = `Page ${v.cursors.length} · ${rows.size} server${rows.size === 1 ? '' : 's'}`;
  };

  async function load() {
    const cursor = v.cursors[v.cursors.length - 1];
    const q = { ...v.filters, limit: PAGE };
    if (cursor) q.cursor = cursor;
    const page = await api('/servers', { query: q, signal: ctx.signal });
    nextCursor = page.next_cursor || null;
    rows.clear();
    clear(tbody);
    for (const s of page.items) rowOf(s);
    emptyMsg.hidden = page.items.length > 0;
    prev.disabled = v.cursors.length <= 1;
    next.disabled = !nextCursor;
    showPageInfo();
    syncSelection();
  }

  function matchesFilters(s) {
    const fl = v.filters;
    return (!fl.state || fl.state === s.state) && (!fl.region || fl.region === s.region)
      && (!fl.type || fl.type === s.type) && selectorMatches(fl.label_selector, s.labels);
  }
  // Whether a new server can join this page: the list is oldest first, so new servers
  // come at its end, on the last page, while it has room.
  const hasRoom = () => !nextCursor && rows.size < PAGE;
  function addIfBelongs(s) {
    if (rows.has(s.id) || !hasRoom() || !matchesFilters(s)) return;
    rowOf(s);
    emptyMsg.hidden = true;
    showPageInfo();
    syncSelection();
  }

  return { rows, load, addIfBelongs, hasRoom, filters: v.filters, tableWrap, pager, bulkBar: bulk?.node ?? null };
}

function serversTable(acting, selectAll, tbody) {
  const cols = [acting && ['', '2.6rem'], ['Name', '15%'], ['ID', '6.5rem'], ['State', '9rem'], ['Region', '8.5rem'],
    ['Type', '7.5rem'], ['IP', '8rem'], ['Labels', '22%'], ['Created', '8.5rem']].filter(Boolean);
  return el('table', { class: 'fixed servers-table', id: 'servers-table' },
    el('caption', { class: 'skip' }, 'Servers'),
    el('colgroup', {}, cols.map(([, w]) => el('col', { style: `width:${w}` }))),
    el('thead', {}, el('tr', {}, cols.map(([name], i) => el('th', { scope: 'col' }, acting && i === 0 ? selectAll : name)))),
    tbody);
}

function buildRow(s, acting, checked, onSelect, go) {
  const cells = {
    name: el('a', { href: `#/servers/${s.id}` }),
    id: el('td', { class: 'mono', title: s.id }, shortId(s.id)),
    state: badge(s.state),
    region: el('td'), type: el('td'), ip: el('td', { class: 'mono' }),
    labels: el('td'), created: timeEl(s.created_at),
  };
  const tr = el('tr', { class: 'clickable', dataset: { serverId: s.id } });
  if (acting) {
    const cb = el('input', { type: 'checkbox', dataset: { select: s.id }, 'aria-label': `Select ${s.name}` });
    cb.checked = checked;
    cb.addEventListener('change', () => onSelect(s.id, cb.checked));
    cells.checkbox = cb;
    tr.append(el('td', {}, cb));
  }
  tr.append(el('td', {}, cells.name), cells.id, el('td', { class: 'state' }, cells.state),
    cells.region, cells.type, cells.ip, cells.labels, el('td', {}, cells.created));
  tr.addEventListener('click', (e) => {
    if (e.target.closest('a, button, input, label')) return;
    go(`#/servers/${s.id}`);
  });
  const row = { tr, cells, server: s, at: 0 };
  fillRow(row, s);
  return row;
}

function fillRow(row, s) {
  const c = row.cells;
  row.server = s;
  if (c.name.textContent !== s.name) c.name.textContent = s.name;
  if (c.checkbox) c.checkbox.setAttribute('aria-label', `Select ${s.name}`);
  setBadge(c.state, s.state);
  c.region.textContent = s.region;
  c.type.textContent = s.type;
  c.ip.textContent = s.ip || '—';
  const labelText = Object.entries(s.labels || {}).map(([k, v]) => (v === '' ? k : `${k}=${v}`));
  if (c.labels.dataset.text !== labelText.join(',')) {
    c.labels.dataset.text = labelText.join(',');
    c.labels.title = labelText.join(', ');
    c.labels.replaceChildren(...labelText.map((t) => el('span', { class: 'label-chip' }, t)));
  }
  setTime(c.created, s.created_at);
}

// ---- bulk actions: one POST /servers/{id}/action each ----------------------------------

function bulkBar(ctx, selected, rows) {
  const selCount = el('span', { id: 'selected-count', class: 'muted' }, 'None selected');
  const status = el('span', { class: 'status-line', role: 'status', id: 'bulk-status' });
  const buttons = ACTIONS.map((a) => el('button', {
    type: 'button', class: `btn${a === 'terminate' ? ' btn-danger' : ''}`, dataset: { bulk: a }, disabled: true,
    onclick: () => bulk(a),
  }, capitalize(a)));

  async function bulk(action) {
    const ids = [...selected];
    if (!ids.length) return;
    const Action = capitalize(action);
    const names = ids.map((id) => rows.get(id)?.server.name || shortId(id));
    const ok = await ctx.confirm(`${Action} ${ids.length} server${ids.length === 1 ? '' : 's'}: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}?`,
      { title: `${Action} servers`, yes: Action, danger: action === 'terminate' });
    if (!ok) return;
    status.textContent = `${Action}: sending…`;
    const results = await Promise.allSettled(ids.map((id) => api(`/servers/${id}/action`, { method: 'POST', body: { action } })));
    const failed = results.map((r, i) => [r, names[i]]).filter(([r]) => r.status === 'rejected');
    status.textContent = `${Action}: ${results.length - failed.length} succeeded, ${failed.length} failed.`;
    if (failed.length) ctx.showError(new Error(`${Action} failed for ${failed.map(([r, n]) => `${n}: ${r.reason.message}`).join('; ')}`));
  }

  return {
    node: el('div', { class: 'row', id: 'bulk-bar', style: 'margin-bottom:.5rem' }, selCount, buttons, status),
    sync() {
      selCount.textContent = selected.size ? `${selected.size} selected` : 'None selected';
      for (const b of buttons) b.disabled = selected.size === 0;
    },
  };
}

// ---- live updates: cells change in place, rows keep their place and size ---------------

function followStream(ctx, list, onStatus) {
  const { signal } = ctx;
  const pending = new Map();
  // Re-reads a server shown (debounced per server) to fill in what the event does not say.
  function refetchRow(id) {
    clearTimeout(pending.get(id));
    pending.set(id, setTimeout(async () => {
      pending.delete(id);
      try {
        const s = await api(`/servers/${id}`, { signal });
        const row = list.rows.get(id);
        // keep a newer state seen on the stream meanwhile
        if (row && (!row.at || Date.parse(s.updated_at) >= row.at)) fillRow(row, s);
      } catch (e) { if (e.status !== 404) ctx.showError(e); }
    }, 400));
  }
  // A new server may join the page; it is read once to learn its region, type and name.
  async function addNew(ev) {
    const fl = list.filters;
    if (!list.hasRoom() || (fl.state && fl.state !== ev.to_state) || !selectorMatches(fl.label_selector, ev.labels)) return;
    try {
      list.addIfBelongs(await api(`/servers/${ev.server_id}`, { signal }));
    } catch (e) { if (e.status !== 404) ctx.showError(e); }
  }
  const close = openStream({}, (ev) => {
    if (!ev.server_id) return;
    const row = list.rows.get(ev.server_id);
    if (!row) {
      // Servers of other pages (or filtered out) are not shown; only a new one may join.
      if (ev.type === 'server.provisioned') addNew(ev);
      return;
    }
    if (ev.to_state) { // state_changed, and action_requested (running → stopping, …)
      setBadge(row.cells.state, ev.to_state);
      row.at = Math.max(row.at, Date.parse(ev.at));
    }
    if (ev.to_state || ['server.updated', 'server.reaped'].includes(ev.type)) refetchRow(ev.server_id);
  }, onStatus);
  ctx.onCleanup(() => { close(); for (const t of pending.values()) clearTimeout(t); });
}
