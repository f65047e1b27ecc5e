// One server: its fields, labels (editable), the actions its state allows, its events
// and its billing, kept current from /events/stream?server_id=<id>.
import { api, openStream, canAct } from '../api.js';
import { el, clear, badge, setBadge } from '../dom.js';
import { timeEl, setTime, money, duration, absTime, capitalize } from '../format.js';
import { allowedActions, ACTIONS, RESERVED_LABEL_PREFIX } from '../model.js';
import { eventItem, streamStatus } from '../events.js';

export async function render(root, ctx) {
  const id = ctx.params.id;
  const path = `/servers/${encodeURIComponent(id)}`;
  const { signal } = ctx;
  const acting = canAct();

  // The stream starts after the newest seq read before anything else, and its events are
  // held until the first reads are shown: nothing that happens in between is missed.
  const { latest_seq: after } = await api('/events', { query: { limit: 1 }, signal });
  const held = [];
  let onLive = (ev) => held.push(ev);
  const live = streamStatus();
  ctx.onCleanup(openStream({ server_id: id, after }, (ev) => onLive(ev), live.update));

  const [server, logs, billing] = await Promise.all([
    api(path, { signal }),
    api(`${path}/logs`, { query: { limit: 100 }, signal }),
    api(`${path}/billing`, { query: { limit: 100 }, signal }),
  ]);
  document.title = `${server.name} · fleet console`;

  let current = server;
  let stateAt = 0; // time of the newest state change seen on the stream
  const title = el('h1', { id: 'server-name' });
  const actions = actionsBar(acting, (a) => act(a));
  const details = detailsPanel(server.state);
  const cost = costFields();
  const labels = labelsPanel(acting, patchLabels);
  const events = eventsPanel();
  const bills = billingPanel(ctx, path);

  root.append(...[
    el('p', { class: 'small' }, el('a', { href: '#/servers' }, '← Servers')),
    el('div', { class: 'page-head' }, title, el('span', { class: 'spacer' }), live.node),
    acting ? actions.node : null,
    el('div', { class: 'grid' },
      el('section', { class: 'panel', 'aria-labelledby': 'h-fields' }, el('h2', { id: 'h-fields' }, 'Details'), details.node),
      el('section', { class: 'panel', 'aria-labelledby': 'h-cost' }, el('h2', { id: 'h-cost' }, 'Cost'), cost.node,
        el('h2', { id: 'h-labels', style: 'margin-top:1rem' }, 'Labels'), labels.nodes)),
    el('section', { class: 'panel', 'aria-labelledby': 'h-events' }, el('h2', { id: 'h-events' }, 'Events'), events.node),
    bills.node].filter(Boolean));

  function show(s) {
    if (Date.parse(s.updated_at) < stateAt) s = { ...s, state: current.state };
    current = s;
    title.textContent = s.name;
    details.show(s);
    cost.show(s.billing);
    actions.show(s.state);
    labels.show(s.labels);
  }
  async function patchLabels(patch) {
    try {
      show(await api(path, { method: 'PATCH', body: { labels: patch }, contentType: 'application/merge-patch+json', signal }));
      return true;
    } catch (err) { ctx.showError(err); return false; }
  }
  async function act(action) {
    const Action = capitalize(action);
    const ok = await ctx.confirm(`${Action} ${current.name}?`, { title: `${Action} server`, yes: Action, danger: action === 'terminate' });
    if (!ok) return;
    actions.say(`Asking to ${action}…`);
    try {
      await api(`${path}/action`, { method: 'POST', body: { action }, signal });
      actions.say(`${Action} accepted.`);
      refetch();
    } catch (err) {
      actions.say('');
      ctx.showError(err);
    }
  }

  events.showLogs(logs.items);
  bills.add(billing, true);
  show(server);

  // ---- live
  let timer = null, billTimer = null;
  function refetch() {
    clearTimeout(timer);
    timer = setTimeout(() => api(path, { signal }).then(show).catch(ctx.showError), 300);
  }
  function refetchBilling() {
    clearTimeout(billTimer);
    billTimer = setTimeout(() => api(`${path}/billing`, { query: { limit: 100 }, signal })
      .then((r) => { bills.add(r, true); cost.show(r.billing); }).catch(ctx.showError), 800);
  }
  onLive = (ev) => {
    if (ev.server_id && ev.server_id !== id) return;
    if (!events.addLive(ev)) return;
    if (ev.to_state) { // state_changed, and action_requested (running → stopping, …)
      stateAt = Math.max(stateAt, Date.parse(ev.at));
      current = { ...current, state: ev.to_state };
      details.showState(ev.to_state);
      actions.show(ev.to_state);
    }
    refetch();
    if (ev.type === 'server.billed' || ev.to_state) refetchBilling();
  };
  // Held events the logs read after them may already show are matched against the logs,
  // one to one; the later ones are new. The server is read again either way, as its first
  // read ran alongside the logs and may predate them.
  const logged = events.loggedKeys();
  for (const ev of held.splice(0)) {
    if (!logged.take(ev)) onLive(ev);
    else { events.markSeen(ev); refetch(); refetchBilling(); }
  }
  ctx.onCleanup(() => { clearTimeout(timer); clearTimeout(billTimer); });
}

// ---- header: the actions the state allows ---------------------------------------------

function actionsBar(acting, act) {
  const box = el('div', { class: 'row', id: 'server-actions', role: 'group', 'aria-label': 'Actions' });
  const status = el('p', { class: 'status-line', role: 'status', id: 'action-status' });
  const buttons = {};
  if (acting) {
    for (const a of ACTIONS) {
      buttons[a] = el('button', { type: 'button', class: `btn${a === 'terminate' ? ' btn-danger' : ''}`, dataset: { action: a }, hidden: true,
        onclick: () => act(a) }, capitalize(a));
      box.append(buttons[a]);
    }
  }
  return {
    node: el('div', {}, box, status),
    say(text) { status.textContent = text; },
    show(state) {
      const allowed = allowedActions(state);
      for (const a of ACTIONS) if (buttons[a]) buttons[a].hidden = !allowed.includes(a);
      if (acting && !allowed.length) status.textContent = state === 'terminated' ? 'This server is terminated.' : '';
    },
  };
}

// ---- details and cost -----------------------------------------------------------------

function detailsPanel(state) {
  const f = {};
  const stateBadge = badge(state, { id: 'server-state' });
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
  return {
    node: dl,
    showState(state) { setBadge(stateBadge, state); },
    show(s) {
      setBadge(stateBadge, s.state);
      f.reason.textContent = s.state_reason ? s.state_reason.message : '';
      f.id.textContent = s.id;
      f.region.textContent = s.region;
      f.type.textContent = s.type;
      f.ip.textContent = s.ip || '—';
      setTime(f.created, s.created_at); setTime(f.started, s.started_at); setTime(f.stopped, s.stopped_at);
      setTime(f.terminated, s.terminated_at); setTime(f.due, s.transition_due_at); setTime(f.updated, s.updated_at);
    },
  };
}

function costFields() {
  const f = {};
  const dl = el('dl', { class: 'fields', id: 'server-cost' });
  for (const [k, key] of [['Cost so far', 'total'], ['Hourly price', 'price'], ['Billing policy', 'policy'], ['Billed time', 'seconds'], ['Billed (ledger)', 'billed']]) {
    f[key] = el('span', { id: `cost-${key}` });
    dl.append(el('dt', {}, k), el('dd', {}, f[key]));
  }
  return {
    node: dl,
    show(b) {
      if (!b) return;
      f.total.textContent = money(b.total);
      f.price.textContent = `${money(b.hourly_price)} per hour`;
      f.policy.textContent = policyText(b.policy);
      f.seconds.textContent = `${duration(b.total_seconds)} (${duration(b.unbilled_seconds)} not yet in the ledger)`;
      f.billed.textContent = `${money(b.billed)} for ${duration(b.billed_seconds)}`;
    },
  };
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

// ---- labels ---------------------------------------------------------------------------

function labelsPanel(acting, patchLabels) {
  const box = el('div', { class: 'labels-edit', id: 'labels' });
  let form = null;
  if (acting) {
    const k = el('input', { id: 'label-key', type: 'text', placeholder: 'key', spellcheck: 'false', required: true, size: 14 });
    const v = el('input', { id: 'label-value', type: 'text', placeholder: 'value', spellcheck: 'false', size: 14 });
    form = el('form', { class: 'form-row', id: 'label-form' },
      el('div', { class: 'field' }, el('label', { for: 'label-key' }, 'Key'), k),
      el('div', { class: 'field' }, el('label', { for: 'label-value' }, 'Value'), v),
      el('button', { type: 'submit', class: 'btn btn-primary', id: 'label-add' }, 'Add / set label'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const key = k.value.trim();
      if (!key) { k.focus(); return; }
      if (await patchLabels({ [key]: v.value.trim() })) { k.value = ''; v.value = ''; k.focus(); }
    });
  }
  return {
    nodes: [box, form],
    show(labels) {
      const entries = Object.entries(labels || {});
      clear(box);
      if (!entries.length) box.append(el('span', { class: 'muted' }, 'No labels.'));
      for (const [k, v] of entries) {
        const chip = el('span', { class: 'label-chip', dataset: { label: k } }, v === '' ? k : `${k}=${v}`);
        if (acting && !k.startsWith(RESERVED_LABEL_PREFIX)) {
          chip.append(el('button', { type: 'button', class: 'btn btn-quiet btn-small', 'aria-label': `Remove label ${k}`, title: `Remove ${k}`,
            onclick: () => patchLabels({ [k]: null }) }, '×'));
        }
        box.append(chip);
      }
    },
  };
}

// ---- events: the logs (newest first), then stream events on top ----------------------

function eventsPanel() {
  const list = el('ul', { class: 'events', id: 'server-events', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Events of this server' });
  const seen = new Set(); // seqs of the stream events shown
  let logs = [];
  const trim = () => { while (list.children.length > 200) list.lastElementChild.remove(); };
  return {
    node: list,
    showLogs(items) {
      logs = items;
      for (const ev of items) list.append(eventItem(ev));
      trim();
    },
    /** Shows a stream event unless its seq was shown already; says whether it is new. */
    addLive(ev) {
      if (ev.seq != null) {
        if (seen.has(ev.seq)) return false;
        seen.add(ev.seq);
      }
      const li = eventItem(ev);
      li.classList.add('fresh');
      list.prepend(li);
      trim();
      return true;
    },
    markSeen(ev) { if (ev.seq != null) seen.add(ev.seq); },
    /** The logs as a multiset of (type, at, message): `take(ev)` removes one match of a
     * stream event (the two carry no common id), saying whether there was one. */
    loggedKeys() {
      const keyOf = (ev) => `${ev.type}|${Date.parse(ev.at)}|${ev.message}`;
      const n = new Map();
      for (const ev of logs) n.set(keyOf(ev), (n.get(keyOf(ev)) || 0) + 1);
      return {
        take(ev) {
          const k = keyOf(ev), c = n.get(k) || 0;
          if (c) n.set(k, c - 1);
          return c > 0;
        },
      };
    },
  };
}

// ---- billing records ------------------------------------------------------------------

function billingPanel(ctx, path) {
  const body = el('tbody', { id: 'billing-body' });
  const more = el('button', { type: 'button', class: 'btn', hidden: true, id: 'billing-more' }, 'Older records…');
  const empty = el('p', { class: 'empty', hidden: true }, 'No usage recorded yet.');
  let cursor = null;
  function add(report, replace) {
    if (replace) clear(body);
    for (const r of report.records) {
      body.append(el('tr', {},
        el('td', {}, timeEl(r.period_start)), el('td', { title: absTime(r.period_end) }, absTime(r.period_end)),
        el('td', { class: 'num' }, String(r.seconds)), el('td', { class: 'num' }, money(r.hourly_price)), el('td', { class: 'num' }, money(r.amount))));
    }
    cursor = report.next_cursor || null;
    more.hidden = !cursor;
    empty.hidden = body.children.length > 0;
  }
  more.addEventListener('click', async () => {
    try { add(await api(`${path}/billing`, { query: { limit: 100, cursor }, signal: ctx.signal }), false); } catch (e) { ctx.showError(e); }
  });
  const node = el('section', { class: 'panel', 'aria-labelledby': 'h-billing' }, el('h2', { id: 'h-billing' }, 'Billing records'),
    el('div', { class: 'table-wrap' }, el('table', { class: 'fixed', style: 'min-width:640px' },
      el('thead', {}, el('tr', {}, ['Period start', 'Period end', 'Seconds', 'Hourly price', 'Amount'].map((h, i) => el('th', { scope: 'col', class: i >= 2 ? 'num' : '' }, h)))),
      body), empty), el('div', { class: 'pager' }, more));
  return { node, add };
}
