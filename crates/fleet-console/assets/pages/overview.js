// Overview: servers by state and region, cost rate and month to date, servers by state
// over the last hour, cost per hour over 24 h, and the latest events, live.
//
// The state chart RECONSTRUCTS the last hour: it starts from the current counts
// (GET /servers/counts) and walks back through the recent events (GET /events, read
// backwards from the newest, see events.js), undoing each state change (an event with from_state
// and to_state: `server.state_changed`, and `server.action_requested`, which carries the
// move into stopping/starting/…) and each `server.provisioned` (no server before it). While the page is open, every
// such event from the stream moves the counts forward and adds a point; the counts are
// re-read (debounced) after changes so the chart and the table never drift.
import { api, openStream, session, isAdmin, canAct } from '../api.js';
import { el, clear, badge } from '../dom.js';
import { count, money, moneyValue, serverNow, setServerNow } from '../format.js';
import { stateChart, costChart } from '../charts.js';
import { recentEvents, eventItem, streamStatus } from '../events.js';
import { STATES } from '../model.js';

const CHART_STATES = STATES.filter((s) => s !== 'terminated');
const HOUR = 3600e3;
const MAX_EVENTS = 50;

/** GET /costs's query for the 24 hours (whole hours) up to `now`. */
function costQuery(now) {
  return { from: new Date(Math.floor(now / HOUR) * HOUR - 23 * HOUR).toISOString(), to: new Date(now).toISOString(), granularity: 'hour' };
}

export async function render(root, ctx) {
  document.title = 'Overview · fleet console';
  const { signal } = ctx;
  const live = streamStatus();
  const cards = cardsPanel();
  const counts = countsPanel(canAct());
  const states = statesPanel();
  const costs = costPanel();
  const events = eventsPanel(live.node);
  root.append(el('div', { class: 'page-head' }, el('h1', {}, 'Overview')),
    cards.node, counts.node, el('div', { class: 'grid' }, states.node, costs.node), events.node);

  // /servers/counts counts an admin's servers of every project (open mode: an admin too),
  // anyone else's of their project: the events that move the chart are those same servers'.
  const mine = isAdmin() ? () => true : (ev) => ev.project_id === session.project_id;

  // The service's now, as the router read it before this page (a virtual clock may be far
  // from ours): every request below starts at once.
  const now = serverNow();
  const [forecast, firstCounts, firstCosts, recent] = await Promise.all([
    api('/costs/forecast', { signal }),
    api('/servers/counts', { signal }),
    api('/costs', { query: costQuery(now), signal }),
    recentEvents(now - HOUR, { signal }).catch((e) => { if (e.name === 'AbortError') throw e; ctx.showError(e); return { events: [], complete: false }; }),
  ]);
  setServerNow(forecast.now);
  cards.showForecast(forecast);
  cards.showCounts(firstCounts);
  counts.show(firstCounts);
  const history = stateHistory(firstCounts, recent, now, mine);
  states.draw(history);
  costs.show(firstCosts);
  events.showRecent(recent.events);

  // ---- live
  let countsTimer = null, forecastTimer = null, costTimer = null;
  const later = (timer, ms, f) => { clearTimeout(timer); return setTimeout(f, ms); };
  const refetchCounts = () => api('/servers/counts', { signal }).then((c) => {
    cards.showCounts(c);
    counts.show(c);
    history.reset(c);
    states.draw(history);
  }).catch(ctx.showError);
  const refetchForecast = () => api('/costs/forecast', { signal }).then((f) => { setServerNow(f.now); cards.showForecast(f); }).catch(ctx.showError);
  const refetchCosts = () => api('/costs', { query: costQuery(serverNow()), signal }).then(costs.show).catch(ctx.showError);
  // From the newest seq the first reads saw on: what happened since is not missed.
  const close = openStream({ after: recent.latest }, (ev) => {
    events.add(ev, true);
    if (!mine(ev)) return;
    const moved = history.apply(ev);
    if (moved) {
      states.draw(history);
      countsTimer = later(countsTimer, 600, refetchCounts);
    }
    if (ev.type === 'server.billed' || moved) {
      forecastTimer = later(forecastTimer, 1000, refetchForecast);
      costTimer = later(costTimer, 2000, refetchCosts);
    }
  }, live.update);
  const tick = setInterval(() => { states.draw(history); refetchForecast(); }, 30000);
  ctx.onCleanup(() => { close(); clearInterval(tick); clearTimeout(countsTimer); clearTimeout(forecastTimer); clearTimeout(costTimer); });
}

// ---- cards ----------------------------------------------------------------------------

function cardsPanel() {
  const node = el('div', { class: 'cards' });
  const v = {};
  for (const [k, label] of [['total', 'Servers'], ['running', 'Running'], ['rate', 'Cost rate per hour'], ['mtd', 'Month to date'], ['projected', 'Projected to month end']]) {
    v[k] = el('div', { class: 'value', id: `card-${k}` }, '—');
    node.append(el('div', { class: 'card' }, el('div', { class: 'label' }, label), v[k]));
  }
  return {
    node,
    showForecast(f) {
      v.rate.textContent = money(f.hourly_rate);
      v.mtd.textContent = money(f.actual);
      v.projected.textContent = money(f.total);
      v.projected.title = `${money(f.actual)} so far + ${money(f.projected)} at the current rate`;
    },
    showCounts(c) {
      v.total.textContent = count(c.total);
      v.running.textContent = count(c.by_state.find((g) => g.state === 'running')?.count ?? 0);
    },
  };
}

// ---- counts table (rebuilt only when the counts change; fixed layout) ------------------

function countsPanel(acting) {
  const box = el('div', { class: 'table-wrap' });
  const node = el('section', { class: 'panel', 'aria-labelledby': 'h-counts' },
    el('h2', { id: 'h-counts' }, 'Servers by state and region'), box);
  function show(c) {
    clear(box);
    if (!c.total) {
      box.append(el('p', { class: 'empty' }, 'No servers yet.', acting ? [' ', el('a', { href: '#/servers' }, 'Create one')] : null));
      return;
    }
    // The API's totals, in its orders (lifecycle, catalog), without the empty ones.
    const states = c.by_state.filter((g) => g.count > 0);
    const regions = c.by_region.filter((g) => g.count > 0);
    const cell = new Map(c.by_state_and_region.map((g) => [`${g.state}|${g.region}`, g.count]));
    box.append(el('table', { class: 'counts-table', id: 'counts-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Region'),
        states.map((s) => el('th', { scope: 'col', class: 'num' }, badge(s.state))),
        el('th', { scope: 'col', class: 'num' }, 'Total'))),
      el('tbody', {}, regions.map((r) => el('tr', { dataset: { region: r.region } }, el('th', { scope: 'row' }, r.region),
        states.map((s) => {
          const n = cell.get(`${s.state}|${r.region}`);
          return el('td', { class: 'num', dataset: { state: s.state } }, n ? count(n) : '·');
        }),
        el('td', { class: 'num' }, el('strong', {}, count(r.count)))))),
      el('tfoot', {}, el('tr', {}, el('th', { scope: 'row' }, 'All regions'),
        states.map((s) => el('td', { class: 'num' }, el('strong', {}, count(s.count)))),
        el('td', { class: 'num' }, el('strong', {}, count(c.total)))))));
  }
  return { node, show };
}

// ---- servers by state over the last hour ----------------------------------------------

function clampCounts(c) {
  const o = {};
  for (const s of STATES) o[s] = Math.max(0, c[s] || 0);
  return o;
}

function stateTotals(c) {
  return Object.fromEntries(c.by_state.map((g) => [g.state, g.count]));
}

/** Whether an event moves a server between states (or brings a new one). */
function moves(ev) {
  return !!ev.to_state && ((ev.from_state && ev.from_state !== ev.to_state) || ev.type === 'server.provisioned');
}

/**
 * The counts by state over time, reconstructed back from `counts` through the recent
 * events (newest first), then moved forward by the stream: {samples, known, apply, reset}.
 */
function stateHistory(counts, recent, now, mine) {
  let cur = stateTotals(counts);
  const events = recent.events;
  // Where the reconstruction is known from: an hour ago, or, when the events read do not
  // reach back that far (a busy fleet), the oldest of them; the chart starts there.
  const known = recent.complete || !events.length
    ? now - HOUR
    : Math.max(now - HOUR, Date.parse(events[events.length - 1].at));
  const back = { ...cur };
  const desc = [{ t: now, counts: { ...back } }];
  for (const ev of events) {
    if (!mine(ev) || !moves(ev)) continue;
    const t = Date.parse(ev.at);
    if (t < known) break;
    desc.push({ t, counts: { ...back } });
    back[ev.to_state] = (back[ev.to_state] || 0) - 1;
    if (ev.from_state) back[ev.from_state] = (back[ev.from_state] || 0) + 1;
  }
  desc.push({ t: known, counts: { ...back } });
  desc.reverse();
  // each sample holds from its t: shift "after the event" states onto the event times
  const samples = []; // ascending {t, counts}
  for (let i = 0; i < desc.length - 1; i++) samples.push({ t: desc[i].t, counts: clampCounts(desc[i].counts) });
  samples.push({ t: now, counts: clampCounts(cur) });

  return {
    samples,
    known,
    /** Moves the counts by a stream event; says whether it moved any. */
    apply(ev) {
      if (!moves(ev)) return false;
      if (ev.from_state) cur[ev.from_state] = (cur[ev.from_state] || 0) - 1;
      cur[ev.to_state] = (cur[ev.to_state] || 0) + 1;
      samples.push({ t: Date.parse(ev.at), counts: clampCounts(cur) });
      return true;
    },
    /** Takes counts read again as the truth from now on. */
    reset(c) {
      cur = stateTotals(c);
      samples.push({ t: serverNow(), counts: clampCounts(cur) });
    },
  };
}

function statesPanel() {
  const box = el('div', { class: 'chart' });
  const legend = el('div', { class: 'legend' });
  const node = el('section', { class: 'panel', 'aria-labelledby': 'h-states' },
    el('h2', { id: 'h-states' }, 'Servers by state, last hour'), box, legend);
  function draw({ samples, known }) {
    const to = serverNow();
    const from = Math.max(to - HOUR, known);
    // drop samples superseded before the window, keep one to start it
    while (samples.length > 1 && samples[1].t <= from) samples.shift();
    const present = CHART_STATES.filter((s) => samples.some((p) => p.counts[s] > 0));
    clear(box).append(stateChart(samples, CHART_STATES, from, to));
    clear(legend);
    for (const s of present) legend.append(el('span', {}, el('span', { class: `dot state-${s}`, 'aria-hidden': 'true' }), s));
    if (!present.length) legend.append(el('span', {}, 'No servers in the last hour.'));
  }
  return { node, draw };
}

// ---- cost per hour over 24 h ----------------------------------------------------------

function costPanel() {
  const box = el('div', { class: 'chart' });
  const note = el('p', { class: 'muted small' });
  const node = el('section', { class: 'panel', 'aria-labelledby': 'h-cost' },
    el('h2', { id: 'h-cost' }, 'Cost per hour, last 24 hours'), box, note);
  function show(report) {
    const byStart = new Map(report.buckets.map((b) => [Date.parse(b.start), b]));
    const currency = report.total?.currency || 'USD';
    const bars = [];
    const start = Math.floor(Date.parse(report.from) / HOUR) * HOUR;
    for (let i = 0; i < 24; i++) {
      const t = start + i * HOUR;
      const b = byStart.get(t);
      bars.push({ start: new Date(t).toISOString(), end: new Date(t + HOUR).toISOString(),
        value: b ? moneyValue(b.amount) : 0, text: b ? money(b.amount) : money({ micros: 0, amount: '0', currency }) });
    }
    clear(box).append(costChart(bars, currency));
    note.textContent = `Total over these 24 hours: ${money(report.total)}.`;
  }
  return { node, show };
}

// ---- latest events --------------------------------------------------------------------

function eventsPanel(statusNode) {
  const list = el('ul', { class: 'events', id: 'live-events', 'aria-live': 'polite', 'aria-relevant': 'additions', 'aria-label': 'Latest events' });
  const node = el('section', { class: 'panel', 'aria-labelledby': 'h-events' },
    el('div', { class: 'row' }, el('h2', { id: 'h-events' }, 'Latest events'), el('span', { class: 'spacer' }), statusNode),
    list);
  function add(ev, fresh) {
    list.querySelector('.empty-events')?.remove();
    const li = eventItem(ev, { showServer: true });
    if (fresh) li.classList.add('fresh');
    list.prepend(li);
    while (list.children.length > MAX_EVENTS) list.lastElementChild.remove();
  }
  function showRecent(events) {
    for (const ev of events.slice(0, 20).reverse()) add(ev, false);
    if (!events.length) list.append(el('li', { class: 'empty-events muted' }, 'Waiting for events…'));
  }
  return { node, add, showRecent };
}
