// One server: its fields, labels (editable), the actions its state allows, its events
// and its billing, kept current from /events/stream?server_id=<id>.
import { api, openStream, canAct } from '../api.js';
import { el, clear, badge, setBadge } from '../dom.js';
import { timeEl, setTime, money, duration, absTime } from '../format.js';
import { allowedActions, ACTIONS } from '../model.js';
import { eventItem } from '../events.js';

export async function render(root, ctx) {
  const id = ctx.params.id;
  const { signal } = ctx;
  const acting = canAct();

  // Open the stream first and hold its events until the first read is shown, so nothing
  // that happens in between is missed; events already in the logs are skipped.
  const held = [];
  let onLive = (ev) => held.push(ev);
  const liveStatus = el('span', { class: 'muted small', id: 'stream-status' }, 'connecting…');
  const close = openStream({ server_id: id }, (ev) => onLive(ev), (st) => { liveStatus.textContent = st === 'live' ? '● live' : st; });
  ctx.onCleanup(close);

  const [server, logs, billing] = await Promise.all([
    api(`/servers/${encodeURIComponent(id)}`, { signal }),
    api(`/servers/${encodeURIComponent(id)}/logs`, { query: { limit: 100 }, signal }),
    api(`/servers/${encodeURIComponent(id)}/billing`, { query: { limit: 100 }, signal }),
  ]);
  document.title = `${server.name} · fleet console`;

  // ---- header and actions
  const title = el('h1', { id: 'server-name' });
  const stateBadge = badge(server.state, { id: 'server-state' });
  const actionsBox = el('div', { class: 'row', id: 'server-actions', role: 'group', 'aria-label': 'Actions' });
  const actionStatus = el('p', { class: 'status-line', role: 'status', id: 'action-status' });
  const buttons = {};
  if (acting) {
    for (const a of ACTIONS) {
      buttons[a] = el('button', { type: 'button', class: `btn${a === 'terminate' ? ' btn-danger' : ''}`, dataset: { action: a }, hidden: true,
        onclick: () => act(a) }, a[0].toUpperCase() + a.slice(1));
      actionsBox.append(buttons[a]);
    }
  }

  // ---- fields
  const f = {};
  const dl = el('dl', { class: 'fields', id: 'server-fields' });
  const rows = [
    ['State', el('span', {}, stateBadge, ' ', f.reason = el('span', { class: 'muted small' }))],
    ['ID', f.id = el('span', { class: 'mono' })],
    ['Region', f.region = el('span')], ['Type', f.type = el('span')],
    ['IP address', f.ip = el('span', { class: 'mono' })],
    ['Created', f.created = timeEl(null)], ['Started', f.started = timeEl(null)],
    ['Stopped', f.stopped = timeEl(null)], ['Terminated', f.terminated = timeEl(null)],
    ['Next transition due', f.due = timeEl(null)], ['Updated', f.updated = timeEl(null)],
  ];
  for (const [k, v] of rows) dl.append(el('dt', {}, k), el('dd', {}, v));
  const costDl = el('dl', { class: 'fields', id: 'server-cost' });
  for (const [k, key] of [['Cost so far', 'total'], ['Hourly price', 'price'], ['Billing policy', 'policy'], ['Billed time', 'seconds'], ['Billed (ledger)', 'billed']]) {
    f[key] = el('span', { id: `cost-${key}` });
    costDl.append(el('dt', {}, k), el('dd', {}, f[key]));
  }

  // ---- labels
  const labelsBox = el('div', { class: 'labels-edit', id: 'labels' });
  let labelForm = null;
  if (acting) {
    const k = el('input', { id: 'label-key', type: 'text', placeholder: 'key', spellcheck: 'false', required: true, size: 14 });
    const v = el('input', { id: 'label-value', type: 'text', placeholder: 'value', spellcheck: 'false', size: 14 });
    labelForm = el('form', { class: 'form-row', id: 'label-form' },
      el('div', { class: 'field' }, el('label', { for: 'label-key' }, 'Key'), k),
      el('div', { class: 'field' }, el('label', { for: 'label-value' }, 'Value'), v),
      el('button', { type: 'submit', class: 'btn btn-primary', id: 'label-add' }, 'Add / set label'));
    labelForm.addEventListener('submit', async (e) => {
      e.preventDefault();
      const key = k.value.trim();
      if (!key) { k.focus(); return; }
      if (await patchLabels({ [key]: v.value.trim() })) { k.value = ''; v.value = ''; k.focus(); }
    });
  }
  async function patchLabels(patch) {
    try {
      const s = await api(`/servers/${encodeURIComponent(id)}`, { method: 'PATCH', body: { labels: patch }, contentType: 'application/merge-patch+json', signal });
      show(s);
      return true;
    } catch (err) { ctx.showError(err); return false; }
  }

  // ---- events and billing
  const eventsList = el('ul', { class: 'events', id: 'server-events', 'aria-live': 'polite', 'aria-label': 'Events of this server' });
  const billingBody = el('tbody', { id: 'billing-body' });
  const billingMore = el('button', { type: 'button', class: 'btn', hidden: true, id: 'billing-more' }, 'Older records…');
  const billingEmpty = el('p', { class: 'empty', hidden: true }, 'No usage recorded yet.');

  root.append(...[
    el('p', { class: 'small' }, el('a', { href: '#/servers' }, '← Servers')),
    el('div', { class: 'page-head' }, title, el('span', { class: 'spacer' }), liveStatus),
    acting ? el('div', {}, actionsBox, actionStatus) : null,
    el('div', { class: 'grid' },
      el('section', { class: 'panel', 'aria-labelledby': 'h-fields' }, el('h2', { id: 'h-fields' }, 'Details'), dl),
      el('section', { class: 'panel', 'aria-labelledby': 'h-cost' }, el('h2', { id: 'h-cost' }, 'Cost'), costDl,
        el('h2', { id: 'h-labels', style: 'margin-top:1rem' }, 'Labels'), labelsBox, labelForm)),
    el('section', { class: 'panel', 'aria-labelledby': 'h-events' }, el('h2', { id: 'h-events' }, 'Events'), eventsList),
    el('section', { class: 'panel', 'aria-labelledby': 'h-billing' }, el('h2', { id: 'h-billing' }, 'Billing records'),
      el('div', { class: 'table-wrap' }, el('table', { class: 'fixed', style: 'min-width:640px' },
        el('thead', {}, el('tr', {}, ['Period start', 'Period end', 'Seconds', 'Hourly price', 'Amount'].map((h, i) => el('th', { scope: 'col', class: i >= 2 ? 'num' : '' }, h)))),
        billingBody), billingEmpty), el('div', { class: 'pager' }, billingMore))].filter(Boolean));

  let current = server;
  let stateAt = 0; // time of the newest state change seen on the stream
  function show(s) {
    if (Date.parse(s.updated_at) < stateAt) s = { ...s, state: current.state };
    current = s;
    title.textContent = s.name;
    setBadge(stateBadge, s.state);
    f.reason.textContent = s.state_reason ? s.state_reason.message : '';
    f.id.textContent = s.id;
    f.region.textContent = s.region;
    f.type.textContent = s.type;
    f.ip.textContent = s.ip || '—';
    setTime(f.created, s.created_at); setTime(f.started, s.started_at); setTime(f.stopped, s.stopped_at);
    setTime(f.terminated, s.terminated_at); setTime(f.due, s.transition_due_at); setTime(f.updated, s.updated_at);
    showBilling(s.billing);
    showActions(s.state);
    const entries = Object.entries(s.labels || {});
    clear(labelsBox);
    if (!entries.length) labelsBox.append(el('span', { class: 'muted' }, 'No labels.'));
    for (const [k, v] of entries) {
      const text = v === '' ? k : `${k}=${v}`;
      const chip = el('span', { class: 'label-chip', dataset: { label: k } }, text);
      if (acting && !k.startsWith('fleet.dev/')) {
        chip.append(el('button', { type: 'button', class: 'btn btn-quiet btn-small', 'aria-label': `Remove label ${k}`, title: `Remove ${k}`,
          onclick: () => patchLabels({ [k]: null }) }, '×'));
      }
      labelsBox.append(chip);
    }
  }
  function showBilling(b) {
    if (!b) return;
    f.total.textContent = money(b.total);
    f.price.textContent = `${money(b.hourly_price)} per hour`;
    f.policy.textContent = policyText(b.policy);
    f.seconds.textContent = `${duration(b.total_seconds)} (${duration(b.unbilled_seconds)} not yet in the ledger)`;
    f.billed.textContent = `${money(b.billed)} for ${duration(b.billed_seconds)}`;
  }
  function showActions(state) {
    const allowed = allowedActions(state);
    for (const a of ACTIONS) if (buttons[a]) buttons[a].hidden = !allowed.includes(a);
    if (acting && !allowed.length) actionStatus.textContent = state === 'terminated' ? 'This server is terminated.' : '';
  }

  async function act(action) {
    const ok = await ctx.confirm(`${action[0].toUpperCase() + action.slice(1)} ${current.name}?`,
      { title: `${action[0].toUpperCase() + action.slice(1)} server`, yes: action[0].toUpperCase() + action.slice(1), danger: action === 'terminate' });
    if (!ok) return;
    actionStatus.textContent = `Asking to ${action}…`;
    try {
      await api(`/servers/${encodeURIComponent(id)}/action`, { method: 'POST', body: { action }, signal });
      actionStatus.textContent = `${action[0].toUpperCase() + action.slice(1)} accepted.`;
      refetch();
    } catch (err) {
      actionStatus.textContent = '';
      ctx.showError(err);
    }
  }

  // events: logs (newest first) then live ones on top
  const seen = new Set();
  const keyOf = (ev) => `${ev.type}|${ev.at}|${ev.message}`;
  function addEvent(ev, fresh, atEnd) {
    const k = keyOf(ev);
    if (seen.has(k)) return;
    seen.add(k);
    const li = eventItem(ev);
    if (fresh) li.classList.add('fresh');
    if (atEnd) eventsList.append(li); else eventsList.prepend(li);
    while (eventsList.children.length > 200) eventsList.lastElementChild.remove();
  }
  for (const ev of logs.items) addEvent(ev, false, true);

  let billingCursor = null;
  function addBilling(report, replace) {
    if (replace) clear(billingBody);
    for (const r of report.records) {
      billingBody.append(el('tr', {},
        el('td', {}, timeEl(r.period_start)), el('td', { title: absTime(r.period_end) }, absTime(r.period_end)),
        el('td', { class: 'num' }, String(r.seconds)), el('td', { class: 'num' }, money(r.hourly_price)), el('td', { class: 'num' }, money(r.amount))));
    }
    billingCursor = report.next_cursor || null;
    billingMore.hidden = !billingCursor;
    billingEmpty.hidden = billingBody.children.length > 0;
  }
  addBilling(billing, true);
  billingMore.addEventListener('click', async () => {
    try { addBilling(await api(`/servers/${encodeURIComponent(id)}/billing`, { query: { limit: 100, cursor: billingCursor }, signal }), false); } catch (e) { ctx.showError(e); }
  });
  show(server);

  // live
  let timer = null, billTimer = null;
  function refetch() {
    clearTimeout(timer);
    timer = setTimeout(() => api(`/servers/${encodeURIComponent(id)}`, { signal }).then(show).catch(ctx.showError), 300);
  }
  function refetchBilling() {
    clearTimeout(billTimer);
    billTimer = setTimeout(() => api(`/servers/${encodeURIComponent(id)}/billing`, { query: { limit: 100 }, signal })
      .then((r) => { addBilling(r, true); showBilling(r.billing); }).catch(ctx.showError), 800);
  }
  onLive = (ev) => {
    if (ev.server_id && ev.server_id !== id) return;
    addEvent(ev, true, false);
    if (ev.to_state) { // state_changed, and action_requested (running → stopping, …)
      stateAt = Math.max(stateAt, Date.parse(ev.at));
      current = { ...current, state: ev.to_state };
      setBadge(stateBadge, ev.to_state);
      showActions(ev.to_state);
    }
    refetch();
    if (ev.type === 'server.billed' || ev.to_state) refetchBilling();
  };
  for (const ev of held.splice(0)) onLive(ev);
  ctx.onCleanup(() => { clearTimeout(timer); clearTimeout(billTimer); });
}

function policyText(p) {
  if (!p) return '—';
  if (typeof p === 'string') return p.replace(/_/g, ' ');
  const parts = [String(p.policy || '').replace(/_/g, ' ')];
  if (p.minimum_seconds) parts.push(`minimum ${p.minimum_seconds} s`);
  if (p.minimum_amount?.micros) parts.push(`minimum ${money(p.minimum_amount)}`);
  if (p.monthly_cap) parts.push(`capped at ${money(p.monthly_cap)} a month`);
  if (p.stopped_percent) parts.push(`${p.stopped_percent}% while stopped`);
  return parts.join(', ');
}
