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
import { api, openStream, session } from '../api.js';
import { el, clear, badge } from '../dom.js';
import { count, money, moneyValue, serverNow, setServerNow } from '../format.js';
import { stateChart, costChart } from '../charts.js';
import { recentEvents, eventItem } from '../events.js';

import { STATES } from '../model.js';
const CHART_STATES = STATES.filter((s) => s !== 'terminated');
const HOUR = 3600e3;
const MAX_EVENTS = 50;

export async function render(root, ctx) {
  document.title = 'Overview · fleet console';
  const { signal } = ctx;
  const cards = el('div', { class: 'cards' });
  const countsBox = el('div', { class: 'table-wrap' });
  const stateBox = el('div', { class: 'chart' });
  const stateLegend = el('div', { class: 'legend' });
  const costBox = el('div', { class: 'chart' });
  const costNote = el('p', { class: 'muted small' });
  const eventsList = el('ul', { class: 'events', id: 'live-events', 'aria-live': 'polite', 'aria-label': 'Latest events' });
  const liveStatus = el('span', { class: 'muted small', id: 'stream-status' }, 'connecting…');
  root.append(
    el('div', { class: 'page-head' }, el('h1', {}, 'Overview')),
    cards,
    el('section', { class: 'panel', 'aria-labelledby': 'h-counts' },
      el('h2', { id: 'h-counts' }, 'Servers by state and region'), countsBox),
    el('div', { class: 'grid' },
      el('section', { class: 'panel', 'aria-labelledby': 'h-states' },
        el('h2', { id: 'h-states' }, 'Servers by state, last hour'), stateBox, stateLegend),
      el('section', { class: 'panel', 'aria-labelledby': 'h-cost' },
        el('h2', { id: 'h-cost' }, 'Cost per hour, last 24 hours'), costBox, costNote)),
    el('section', { class: 'panel', 'aria-labelledby': 'h-events' },
      el('div', { class: 'row' }, el('h2', { id: 'h-events' }, 'Latest events'), el('span', { class: 'spacer' }), liveStatus),
      eventsList));

  // The project whose servers /servers/counts counts: the session's, else (open mode) that
  // of any server listed; events of other projects (an admin sees all) are left out of the chart.
  let projectId = session.project_id || null;

  // The service's now, as the router read it before this page (a virtual clock may be far
  // from ours): every request below starts at once.
  const now = serverNow();
  const costFrom = new Date(Math.floor(now / HOUR) * HOUR - 23 * HOUR);
  const [forecast, counts, costs, recent, anyServer] = await Promise.all([
    api('/costs/forecast', { signal }),
    api('/servers/counts', { signal }),
    api('/costs', { query: { from: costFrom.toISOString(), to: new Date(now).toISOString(), granularity: 'hour' }, signal }),
    recentEvents(now - HOUR, { signal }).catch((e) => { if (e.name === 'AbortError') throw e; ctx.showError(e); return { events: [], complete: false }; }),
    projectId ? null : api('/servers', { query: { limit: 1 }, signal }).catch(() => null),
  ]);
  setServerNow(forecast.now);
  if (!projectId && anyServer?.items?.[0]) projectId = anyServer.items[0].project_id;
  const mine = (ev) => !projectId || !ev.project_id || ev.project_id === projectId;

  // ---- cards
  const cardEls = {};
  for (const [k, label] of [['total', 'Servers'], ['running', 'Running'], ['rate', 'Cost rate per hour'], ['mtd', 'Month to date'], ['projected', 'Projected to month end']]) {
    cardEls[k] = el('div', { class: 'value', id: `card-${k}` }, '—');
    cards.append(el('div', { class: 'card' }, el('div', { class: 'label' }, label), cardEls[k]));
  }
  function showForecast(f) {
    cardEls.rate.textContent = money(f.hourly_rate);
    cardEls.mtd.textContent = money(f.actual);
    cardEls.projected.textContent = money(f.total);
    cardEls.projected.title = `${money(f.actual)} so far + ${money(f.projected)} at the current rate`;
  }
  showForecast(forecast);

  // ---- counts table (rebuilt only when the counts change; fixed layout)
  function showCounts(c) {
    const byState = {}, byRegion = {}, cell = {};
    for (const g of c.by_state_and_region) {
      byState[g.state] = (byState[g.state] || 0) + g.count;
      byRegion[g.region] = (byRegion[g.region] || 0) + g.count;
      cell[`${g.state}|${g.region}`] = g.count;
    }
    cardEls.total.textContent = count(c.total);
    cardEls.running.textContent = count(byState.running || 0);
    const states = STATES.filter((s) => byState[s]);
    const regions = Object.keys(byRegion).sort();
    clear(countsBox);
    if (!c.total) { countsBox.append(el('p', { class: 'empty' }, 'No servers yet. ', el('a', { href: '#/servers' }, 'Create one'))); return; }
    const table = el('table', { class: 'counts-table', id: 'counts-table' },
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Region'),
        states.map((s) => el('th', { scope: 'col', class: 'num' }, badge(s))),
        el('th', { scope: 'col', class: 'num' }, 'Total'))),
      el('tbody', {}, regions.map((r) => el('tr', { dataset: { region: r } }, el('th', { scope: 'row' }, r),
        states.map((s) => el('td', { class: 'num', dataset: { state: s } }, cell[`${s}|${r}`] ? count(cell[`${s}|${r}`]) : '·')),
        el('td', { class: 'num' }, el('strong', {}, count(byRegion[r])))))),
      el('tfoot', {}, el('tr', {}, el('th', { scope: 'row' }, 'All regions'),
        states.map((s) => el('td', { class: 'num' }, el('strong', {}, count(byState[s])))),
        el('td', { class: 'num' }, el('strong', {}, count(c.total))))));
    countsBox.append(table);
  }
  showCounts(counts);

  // ---- state history: reconstruct back from now
  function stateTotals(c) {
    const t = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const g of c.by_state_and_region) t[g.state] = (t[g.state] || 0) + g.count;
    return t;
  }
  let cur = stateTotals(counts);
  const events = recent.events;
  // Where the reconstruction is known from: an hour ago, or, when the events read do not
  // reach back that far (a busy fleet), the oldest of them; the chart starts there.
  const known = recent.complete || !events.length
    ? now - HOUR
    : Math.max(now - HOUR, Date.parse(events[events.length - 1].at));
  const samples = []; // ascending {t, counts}
  {
    const back = { ...cur };
    const desc = [{ t: now, counts: { ...back } }];
    for (const ev of events) {
      if (!mine(ev) || !ev.to_state) continue;
      const t = Date.parse(ev.at);
      if (t < known) break;
      if (ev.from_state && ev.from_state !== ev.to_state) { // state_changed, action_requested
        desc.push({ t, counts: { ...back } });
        back[ev.to_state] = (back[ev.to_state] || 0) - 1;
        back[ev.from_state] = (back[ev.from_state] || 0) + 1;
      } else if (ev.type === 'server.provisioned') {
        desc.push({ t, counts: { ...back } });
        back[ev.to_state] = (back[ev.to_state] || 0) - 1;
      }
    }
    desc.push({ t: known, counts: { ...back } });
    desc.reverse();
    // each sample holds from its t: shift "after the event" states onto the event times
    for (let i = 0; i < desc.length - 1; i++) samples.push({ t: desc[i].t, counts: clampCounts(desc[i].counts) });
    samples.push({ t: now, counts: clampCounts(cur) });
  }
  function clampCounts(c) {
    const o = {};
    for (const s of STATES) o[s] = Math.max(0, c[s] || 0);
    return o;
  }
  function drawStates() {
    const to = serverNow();
    const from = Math.max(to - HOUR, known);
    // drop samples superseded before the window, keep one to start it
    while (samples.length > 1 && samples[1].t <= from) samples.shift();
    const present = CHART_STATES.filter((s) => samples.some((p) => p.counts[s] > 0));
    clear(stateBox).append(stateChart(samples, CHART_STATES, from, to));
    clear(stateLegend);
    for (const s of present) stateLegend.append(el('span', {}, el('span', { class: `dot state-${s}`, 'aria-hidden': 'true' }), s));
    if (!present.length) stateLegend.append(el('span', {}, 'No servers in the last hour.'));
  }
  drawStates();

  // ---- cost chart
  function showCosts(report) {
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
    clear(costBox).append(costChart(bars, currency));
    costNote.textContent = `Total over these 24 hours: ${money(report.total)}.`;
  }
  showCosts(costs);

  // ---- events list
  function addEvent(ev, fresh) {
    const li = eventItem(ev, { showServer: true });
    if (fresh) li.classList.add('fresh');
    eventsList.prepend(li);
    while (eventsList.children.length > MAX_EVENTS) eventsList.lastElementChild.remove();
  }
  for (const ev of events.slice(0, 20).reverse()) addEvent(ev, false);
  if (!events.length) eventsList.append(el('li', { class: 'empty-events muted' }, 'Waiting for events…'));

  // ---- live
  let countsTimer = null, forecastTimer = null, costTimer = null;
  const later = (timer, ms, f) => { clearTimeout(timer); return setTimeout(f, ms); };
  const refetchCounts = () => api('/servers/counts', { signal }).then((c) => {
    showCounts(c);
    cur = stateTotals(c);
    samples.push({ t: serverNow(), counts: clampCounts(cur) });
    drawStates();
  }).catch(ctx.showError);
  const refetchForecast = () => api('/costs/forecast', { signal }).then((f) => { setServerNow(f.now); showForecast(f); }).catch(ctx.showError);
  const refetchCosts = () => {
    const n = serverNow();
    return api('/costs', { query: { from: new Date(Math.floor(n / HOUR) * HOUR - 23 * HOUR).toISOString(), to: new Date(n).toISOString(), granularity: 'hour' }, signal })
      .then(showCosts).catch(ctx.showError);
  };
  const close = openStream({}, (ev) => {
    eventsList.querySelector('.empty-events')?.remove();
    addEvent(ev, true);
    if (!mine(ev)) return;
    const moved = ev.to_state && ((ev.from_state && ev.from_state !== ev.to_state) || ev.type === 'server.provisioned');
    if (moved) {
      if (ev.from_state) cur[ev.from_state] = (cur[ev.from_state] || 0) - 1;
      cur[ev.to_state] = (cur[ev.to_state] || 0) + 1;
      samples.push({ t: Date.parse(ev.at), counts: clampCounts(cur) });
      drawStates();
      countsTimer = later(countsTimer, 600, refetchCounts);
    }
    if (ev.type === 'server.billed' || moved) {
      forecastTimer = later(forecastTimer, 1000, refetchForecast);
      costTimer = later(costTimer, 2000, refetchCosts);
    }
  }, (st) => { liveStatus.textContent = st === 'live' ? '● live' : st; });
  const tick = setInterval(() => { drawStates(); refetchForecast(); }, 30000);
  ctx.onCleanup(() => { close(); clearInterval(tick); clearTimeout(countsTimer); clearTimeout(forecastTimer); clearTimeout(costTimer); });
}
