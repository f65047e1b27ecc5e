// Formatting helpers: times (relative, against the service's clock, with the absolute UTC
// time in a title) and money.

// fleetd may run on a virtual clock far from the browser's: keep the offset between the
// two, learned from any "now" the API reports (clock, forecast) and from event times.
// A virtual clock does not move on its own (only POST /admin/clock/advance moves it), so
// then "now" is the last instant the service reported, not the browser's time plus offset.
let clockOffsetMs = 0;
let frozen = false;
let knownNow = null;

export function setClockFrozen(yes) {
  frozen = !!yes;
}

/** Record an instant the service says is "now" (RFC 3339). */
export function setServerNow(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return;
  clockOffsetMs = t - Date.now();
  knownNow = t;
}

/** Record an instant the service says has happened: now is at least that late. */
export function sawServerTime(iso) {
  const t = Date.parse(iso);
  if (!Number.isNaN(t) && t > serverNow()) setServerNow(iso);
}

/** A count with thousands separators: "10,000". */
export function count(n) {
  return Number(n).toLocaleString('en-US');
}

/** The service's now, in ms since the epoch, as best known. */
export function serverNow() {
  if (frozen && knownNow != null) return knownNow;
  return Date.now() + clockOffsetMs;
}

/** "2025-01-31 14:05:09 UTC" */
export function absTime(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** "just now", "3 min ago", "2 h ago", "4 days ago", "in 5 min" */
function relTime(iso, now = serverNow()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '';
  let s = Math.round((now - t) / 1000);
  const future = s < 0;
  s = Math.abs(s);
  let text;
  if (s < 10) return 'just now';
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.floor(s / 60)} min`;
  else if (s < 86400) text = `${Math.floor(s / 3600)} h`;
  else if (s < 86400 * 60) { const d = Math.floor(s / 86400); text = `${d} day${d === 1 ? '' : 's'}`; }
  else text = absTime(iso).slice(0, 10);
  if (/^\d{4}-/.test(text)) return text;
  return future ? `in ${text}` : `${text} ago`;
}

/** A <time> element: relative text, absolute UTC in title; refreshed by refreshTimes(). */
export function timeEl(iso) {
  const el = document.createElement('time');
  setTime(el, iso);
  return el;
}

export function setTime(el, iso) {
  if (!iso) { el.textContent = '—'; el.removeAttribute('datetime'); el.removeAttribute('title'); return; }
  el.dateTime = iso;
  el.title = absTime(iso);
  el.dataset.rel = '1';
  el.textContent = relTime(iso);
}

/** Re-render every relative time on the page (called on a timer). */
export function refreshTimes(root = document) {
  for (const el of root.querySelectorAll('time[data-rel]')) {
    const text = relTime(el.dateTime);
    if (el.textContent !== text) el.textContent = text;
  }
}

const SYMBOLS = { USD: '$', EUR: '€', GBP: '£' };

/** Money {micros, amount, currency} → "$0.0116" (other currencies: "0.0116 CHF"). */
export function money(m) {
  if (!m) return '—';
  const value = m.micros / 1e6;
  // Cents from a unit up, as bills show them ("4.69"); below, the few places a price needs
  // ("0.0116"). The exact amount is the API's `amount`, which callers may put in a title.
  const amount = Math.abs(value) >= 1
    ? value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })
    : value.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 4 });
  const sym = SYMBOLS[m.currency];
  return sym ? `${sym}${amount}` : `${amount} ${m.currency}`;
}

/** Money as a number of currency units. */
export function moneyValue(m) {
  return m ? m.micros / 1e6 : 0;
}

/** Compact axis money: "$1.2", "$0.05". */
export function moneyShort(value, currency = 'USD') {
  const sym = SYMBOLS[currency] ?? '';
  let s;
  if (value === 0) s = '0';
  else if (value >= 100) s = value.toFixed(0);
  else if (value >= 1) s = value.toFixed(2);
  else s = value.toPrecision(2);
  return sym ? `${sym}${s}` : `${s} ${currency}`;
}

/** "terminate" → "Terminate" */
export function capitalize(s) {
  return s ? s[0].toUpperCase() + s.slice(1) : '';
}

export function shortId(id) {
  return id ? String(id).slice(0, 8) : '';
}

export function duration(seconds) {
  if (seconds == null) return '—';
  const s = Number(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  const h = Math.floor(s / 3600);
  return `${h} h ${Math.floor((s % 3600) / 60)} min`;
}
