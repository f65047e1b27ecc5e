// Servers: filtered, cursor-paged table (50 a page) updated in place from the event
// stream, multi-select bulk actions, and a form to create a server.
import { api, openStream, canAct } from '../api.js';
import { el, clear, badge, setBadge, select, field } from '../dom.js';
import { timeEl, setTime, shortId } from '../format.js';
import { STATES, getCatalog, parseLabels, selectorMatches } from '../model.js';

const PAGE = 50;
// Kept across navigation, so coming back from a server shows the same list.
const view = { filters: { state: '', region: '', type: '', label_selector: '' }, cursors: [null] };

export async function render(root, ctx) {
  document.title = 'Servers · fleet console';
  const { signal } = ctx;
  const acting = canAct();
  const catalog = await getCatalog(signal);
  const regions = catalog.regions.map((r) => r.name);
  const types = catalog.server_types.map((t) => t.name);

  // ---- filters
  const f = view.filters;
  const fState = select('filter-state', STATES, { any: 'Any state', value: f.state });
  const fRegion = select('filter-region', regions, { any: 'Any region', value: f.region });
  const fType = select('filter-type', types, { any: 'Any type', value: f.type });
  const fLabels = el('input', { id: 'filter-labels', type: 'text', value: f.label_selector, placeholder: 'env=prod,tier in (web,api)', spellcheck: 'false' });
  const filters = el('form', { class: 'panel form-row', role: 'search', 'aria-label': 'Filter servers' },
    field('State', fState), field('Region', fRegion), field('Type', fType),
    el('div', { class: 'field', style: 'flex:1 1 14rem' }, el('label', { for: 'filter-labels' }, 'Label selector'), fLabels),
    el('button', { type: 'submit', class: 'btn btn-primary', id: 'filter-apply' }, 'Apply'),
    el('button', { type: 'button', class: 'btn', id: 'filter-reset', onclick: () => {
      fState.value = fRegion.value = fType.value = fLabels.value = '';
      filters.requestSubmit();
    } }, 'Reset'));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    Object.assign(view.filters, { state: fState.value, region: fRegion.value, type: fType.value, label_selector: fLabels.value.trim() });
    view.cursors = [null];
    load().catch(ctx.showError);
  });

  // ---- create form (members and admins only; not rendered at all for viewers)
  let createPanel = null;
  if (acting) {
    const cName = el('input', { id: 'new-name', type: 'text', maxlength: '64', placeholder: 'web-1 (optional)' });
    const cRegion = select('new-region', regions);
    const cType = select('new-type', catalog.server_types.map((t) => ({ value: t.name, label: `${t.name} · ${t.vcpus} vCPU · ${t.memory_mib} MiB · ${priceText(t.hourly_price)}/h` })));
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
        const s = await api('/servers', { method: 'POST', body, signal });
        cName.value = '';
        cMsg.replaceChildren('Created ', el('a', { href: `#/servers/${s.id}` }, s.name), ` in ${s.region}; it is ${s.state}.`);
        addIfBelongs(s);
      } catch (err) { ctx.showError(err); } finally { cSubmit.disabled = false; }
    });
    createPanel = el('details', { class: 'panel', id: 'new-server' },
      el('summary', {}, el('strong', {}, 'New server')), el('div', { style: 'margin-top:.6rem' }, form, cMsg));
  }

  // ---- bulk bar
  const selected = new Set();
  const selCount = el('span', { id: 'selected-count', class: 'muted' }, 'None selected');
  const bulkStatus = el('span', { class: 'status-line', role: 'status', id: 'bulk-status' });
  const bulkButtons = ['start', 'stop', 'reboot', 'terminate'].map((a) => el('button', {
    type: 'button', class: `btn${a === 'terminate' ? ' btn-danger' : ''}`, dataset: { bulk: a }, disabled: true,
    onclick: () => bulk(a),
  }, cap(a)));
  const bulkBar = acting ? el('div', { class: 'row', id: 'bulk-bar', style: 'margin-bottom:.5rem' }, selCount, bulkButtons, bulkStatus) : null;

  // ---- table
  const selectAll = acting ? el('input', { type: 'checkbox', id: 'select-all', 'aria-label': 'Select all servers on this page' }) : null;
  const tbody = el('tbody', { id: 'servers-body' });
  const cols = [acting && ['', '2.6rem'], ['Name', '15%'], ['ID', '6.5rem'], ['State', '9rem'], ['Region', '8.5rem'],
    ['Type', '7.5rem'], ['IP', '8rem'], ['Labels', '22%'], ['Created', '8.5rem']].filter(Boolean);
  const table = el('table', { class: 'fixed servers-table', id: 'servers-table' },
    el('caption', { class: 'skip' }, 'Servers'),
    el('colgroup', {}, cols.map(([, w]) => el('col', { style: `width:${w}` }))),
    el('thead', {}, el('tr', {}, cols.map(([name], i) => el('th', { scope: 'col' }, acting && i === 0 ? selectAll : name)))),
    tbody);
  const emptyMsg = el('p', { class: 'empty', hidden: true }, 'No servers match.');
  const prev = el('button', { type: 'button', class: 'btn', id: 'page-prev', onclick: () => { view.cursors.pop(); load().catch(ctx.showError); } }, '← Previous page');
  const next = el('button', { type: 'button', class: 'btn', id: 'page-next', onclick: () => { view.cursors.push(nextCursor); load().catch(ctx.showError); } }, 'Next page →');
  const pageInfo = el('span', { class: 'muted small', id: 'page-info' });
  const liveStatus = el('span', { class: 'muted small', id: 'stream-status' }, 'connecting…');
  const refresh = el('button', { type: 'button', class: 'btn btn-quiet', id: 'refresh', onclick: () => load().catch(ctx.showError) }, 'Refresh');

  root.append(...[
    el('div', { class: 'page-head' }, el('h1', {}, 'Servers'), el('span', { class: 'spacer' }), liveStatus, refresh),
    filters, createPanel, bulkBar,
    el('div', { class: 'table-wrap' }, table, emptyMsg),
    el('div', { class: 'pager' }, prev, next, pageInfo)].filter(Boolean));

  const rows = new Map(); // id → {tr, server, cells, at}
  let nextCursor = null;

  function buildRow(s) {
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
      cb.checked = selected.has(s.id);
      cb.addEventListener('change', () => { if (cb.checked) selected.add(s.id); else selected.delete(s.id); syncSelection(); });
      cells.checkbox = cb;
      tr.append(el('td', {}, cb));
    }
    tr.append(el('td', {}, cells.name), cells.id, el('td', { class: 'state' }, cells.state),
      cells.region, cells.type, cells.ip, cells.labels, el('td', {}, cells.created));
    tr.addEventListener('click', (e) => {
      if (e.target.closest('a, button, input, label')) return;
      ctx.go(`#/servers/${s.id}`);
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

  function syncSelection() {
    for (const id of [...selected]) if (!rows.has(id)) selected.delete(id);
    if (!acting) return;
    selCount.textContent = selected.size ? `${selected.size} selected` : 'None selected';
    for (const b of bulkButtons) b.disabled = selected.size === 0;
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

  async function load() {
    const cursor = view.cursors[view.cursors.length - 1];
    const q = { ...view.filters, limit: PAGE };
    if (cursor) q.cursor = cursor;
    const page = await api('/servers', { query: q, signal });
    nextCursor = page.next_cursor || null;
    rows.clear();
    clear(tbody);
    for (const s of page.items) {
      const r = buildRow(s);
      rows.set(s.id, r);
      tbody.append(r.tr);
    }
    emptyMsg.hidden = page.items.length > 0;
    prev.disabled = view.cursors.length <= 1;
    next.disabled = !nextCursor;
    pageInfo.textContent = `Page ${view.cursors.length} · ${page.items.length} server${page.items.length === 1 ? '' : 's'}`;
    syncSelection();
  }

  function matchesFilters(s) {
    const fl = view.filters;
    return (!fl.state || fl.state === s.state) && (!fl.region || fl.region === s.region)
      && (!fl.type || fl.type === s.type) && selectorMatches(fl.label_selector, s.labels);
  }
  // A server not shown joins the table only on the last page with room (the list is
  // oldest first, so new servers come at its end).
  function addIfBelongs(s) {
    if (rows.has(s.id) || nextCursor || rows.size >= PAGE || !matchesFilters(s)) return;
    const r = buildRow(s);
    rows.set(s.id, r);
    tbody.append(r.tr);
    emptyMsg.hidden = true;
    pageInfo.textContent = `Page ${view.cursors.length} · ${rows.size} server${rows.size === 1 ? '' : 's'}`;
    syncSelection();
  }

  // ---- bulk actions: one POST /servers/{id}/action each
  async function bulk(action) {
    const ids = [...selected];
    if (!ids.length) return;
    const names = ids.map((id) => rows.get(id)?.server.name || shortId(id));
    const ok = await ctx.confirm(`${cap(action)} ${ids.length} server${ids.length === 1 ? '' : 's'}: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', …' : ''}?`,
      { title: `${cap(action)} servers`, yes: cap(action), danger: action === 'terminate' });
    if (!ok) return;
    bulkStatus.textContent = `${cap(action)}: sending…`;
    const results = await Promise.allSettled(ids.map((id) => api(`/servers/${id}/action`, { method: 'POST', body: { action } })));
    const failed = results.map((r, i) => [r, names[i]]).filter(([r]) => r.status === 'rejected');
    bulkStatus.textContent = `${cap(action)}: ${results.length - failed.length} succeeded, ${failed.length} failed.`;
    if (failed.length) ctx.showError(new Error(`${cap(action)} failed for ${failed.map(([r, n]) => `${n}: ${r.reason.message}`).join('; ')}`));
  }

  // ---- live updates: cells change in place, rows keep their place and size
  const pending = new Map();
  function refetchRow(id, at) {
    clearTimeout(pending.get(id));
    pending.set(id, setTimeout(async () => {
      pending.delete(id);
      try {
        const s = await api(`/servers/${id}`, { signal });
        const row = rows.get(id);
        if (row) {
          // keep a newer state seen on the stream meanwhile
          if (Date.parse(s.updated_at) >= row.at || !row.at) fillRow(row, s);
        } else addIfBelongs(s);
      } catch (e) { if (e.status !== 404) ctx.showError(e); }
    }, 400));
    void at;
  }
  const close = openStream({}, (ev) => {
    if (!ev.server_id) return;
    const row = rows.get(ev.server_id);
    if (row) {
      if (ev.to_state) { // state_changed, and action_requested (running → stopping, …)
        setBadge(row.cells.state, ev.to_state);
        row.at = Math.max(row.at, Date.parse(ev.at));
      }
      if (ev.to_state || ['server.updated', 'server.reaped'].includes(ev.type)) refetchRow(ev.server_id);
    } else if (ev.to_state && !nextCursor && rows.size < PAGE
      && (!view.filters.state || view.filters.state === ev.to_state)) {
      refetchRow(ev.server_id);
    }
  }, (st) => { liveStatus.textContent = st === 'live' ? '● live' : st; });
  ctx.onCleanup(() => { close(); for (const t of pending.values()) clearTimeout(t); });

  await load();
}

function cap(s) { return s[0].toUpperCase() + s.slice(1); }
function priceText(m) { return m.currency === 'USD' ? `$${m.amount}` : `${m.amount} ${m.currency}`; }
