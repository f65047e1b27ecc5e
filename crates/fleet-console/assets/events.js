// Reading recent events. GET /events pages forward from a cursor (oldest first); every page
// says the newest seq of the sequence (`latest_seq`), so the newest events are read by
// pages backwards from there.
import { api } from './api.js';
import { el, badge } from './dom.js';
import { timeEl, shortId } from './format.js';

/** The newest seq of the sequence, or null when there is no event yet. */
async function lastSeq(signal) {
  const page = await api('/events', { query: { limit: 1 }, signal });
  return page.latest_seq > 0 ? page.latest_seq : null;
}

/**
 * Events newest first, walking back from the newest until `sinceMs` (by `at`), at most
 * `maxPages` pages of 100. `complete` says whether they reach back to `sinceMs` (or to the
 * first event): when not, the history before the oldest of them is unknown. `latest` is the
 * newest seq when the walk began (0 when there was no event): a stream opened with
 * `after: latest` misses nothing since.
 */
export async function recentEvents(sinceMs, { maxPages = 10, signal } = {}) {
  const last = await lastSeq(signal);
  if (last == null) return { events: [], complete: true, latest: 0 };
  let complete = false;
  const bySeq = new Map();
  let after = last;
  for (let i = 0; i < maxPages && after > 0; i++) {
    const from = Math.max(0, after - 100);
    let page;
    try {
      page = await api('/events', { query: { after: from, limit: 100 }, signal });
    } catch (e) {
      if (e.status === 410) break; // older than the retention window: unknown before
      throw e;
    }
    let older = false;
    for (const ev of page.items) {
      if (ev.seq > after) continue;
      bySeq.set(ev.seq, ev);
      if (Date.parse(ev.at) < sinceMs) older = true;
    }
    if (older || from === 0) { complete = true; break; }
    after = from;
  }
  return { events: [...bySeq.values()].sort((a, b) => b.seq - a.seq), complete, latest: last };
}

/**
 * The "live" indicator of a page that follows the stream: `node` is the
 * <span id="stream-status" role="status">, `update` the status callback of openStream.
 */
export function streamStatus() {
  const node = el('span', { class: 'muted small', id: 'stream-status', role: 'status' }, 'connecting…');
  const update = (st) => { node.textContent = st === 'live' ? '● live' : st; };
  return { node, update };
}

/** One line of an event list: time, type, message (and the server, when asked). */
export function eventItem(ev, { showServer = false } = {}) {
  const msg = el('span', { class: 'ev-msg' });
  if (showServer && ev.server_id) {
    msg.append(el('a', { href: `#/servers/${ev.server_id}`, class: 'mono', title: ev.server_id }, shortId(ev.server_id)), ' ');
  }
  if (ev.from_state && ev.to_state) {
    msg.append(badge(ev.from_state, { class: 'badge-small' }), ' → ', badge(ev.to_state, { class: 'badge-small' }), ' ');
  } else if (ev.to_state) {
    msg.append(badge(ev.to_state, { class: 'badge-small' }), ' ');
  }
  msg.append(ev.message || '');
  return el('li', { dataset: { seq: ev.seq ?? ev.id ?? '', type: ev.type } },
    timeEl(ev.at), el('span', { class: 'ev-type', title: ev.actor ? `by ${ev.actor}` : '' }, ev.type), msg);
}
