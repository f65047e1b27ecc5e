// Inline SVG charts: a stacked step chart of servers by state over time and a bar chart
// of cost per hour. Fixed viewBox, scaled to the container's width.
import { svg } from './dom.js';
import { absTime, moneyShort } from './format.js';

const W = 640, H = 220, L = 62, R = 10, T = 10, B = 26;

function hhmm(ms) {
  return new Date(ms).toISOString().slice(11, 16);
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function frame(root, yMax, yFmt, xTicks, title) {
  root.append(svg('title', {}, title));
  for (let i = 0; i <= 4; i++) {
    const y = T + (H - T - B) * (1 - i / 4);
    root.append(svg('line', { class: 'grid-line', x1: L, x2: W - R, y1: y, y2: y }));
    root.append(svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, yFmt((yMax * i) / 4)));
  }
  root.append(svg('line', { class: 'axis', x1: L, x2: W - R, y1: H - B, y2: H - B }));
  for (const [x, label] of xTicks) {
    // Labels are centred on their tick, except where that would cut one at the chart's
    // edge: a label at the right edge ends at its tick, and one too close to the left
    // edge (half its width, about 3.5 px a character at 11 px, past x = 0) starts at it.
    const anchor = x >= W - R - 1 ? 'end' : x - label.length * 3.5 < 0 ? 'start' : 'middle';
    root.append(svg('text', { x, y: H - 8, 'text-anchor': anchor }, label));
  }
}

/**
 * Servers by state over [from, to]: samples [{t, counts: {state: n}}] sorted by t, each
 * holding until the next (the last until `to`).
 */
export function stateChart(samples, states, from, to) {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Servers by state over the last hour' });
  const span = Math.max(1, to - from);
  const xOf = (t) => L + ((Math.min(Math.max(t, from), to) - from) / span) * (W - L - R);
  const pts = samples.filter((s) => s.t <= to);
  let maxTotal = 0;
  for (const s of pts) maxTotal = Math.max(maxTotal, states.reduce((a, st) => a + (s.counts[st] || 0), 0));
  const yMax = Math.max(4, niceMax(maxTotal));
  const yOf = (v) => T + (H - T - B) * (1 - v / yMax);
  const ticks = [];
  for (let i = 0; i <= 4; i++) { const t = from + (span * i) / 4; ticks.push([xOf(t), hhmm(t)]); }
  frame(root, yMax, (v) => (Number.isInteger(v) ? String(v) : ''), ticks, 'Servers by state');
  if (pts.length === 0) return root;
  // segments: [x0, x1, counts]
  const segs = pts.map((s, i) => [xOf(s.t), xOf(i + 1 < pts.length ? pts[i + 1].t : to), s.counts]);
  const base = segs.map(() => 0);
  for (const st of states) {
    const top = segs.map((sg, i) => base[i] + (sg[2][st] || 0));
    if (top.every((v, i) => v === base[i])) continue;
    let d = '';
    segs.forEach((sg, i) => { d += `${i ? 'L' : 'M'}${sg[0].toFixed(1)},${yOf(top[i]).toFixed(1)}L${sg[1].toFixed(1)},${yOf(top[i]).toFixed(1)}`; });
    for (let i = segs.length - 1; i >= 0; i--) {
      d += `L${segs[i][1].toFixed(1)},${yOf(base[i]).toFixed(1)}L${segs[i][0].toFixed(1)},${yOf(base[i]).toFixed(1)}`;
    }
    root.append(svg('path', { d: d + 'Z', class: `fill-${st}` }, svg('title', {}, st)));
    top.forEach((v, i) => { base[i] = v; });
  }
  return root;
}

/** Cost per bucket: [{start, end, value, text}] (value a number, text the money). */
export function costChart(buckets, currency) {
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Cost per hour over the last 24 hours' });
  const max = niceMax(Math.max(0, ...buckets.map((b) => b.value)));
  const yMax = max > 0 ? max : 1;
  const n = Math.max(1, buckets.length);
  const bw = (W - L - R) / n;
  const ticks = [];
  buckets.forEach((b, i) => { if (i % 6 === 0) ticks.push([L + bw * i + bw / 2, hhmm(Date.parse(b.start))]); });
  frame(root, yMax, (v) => moneyShort(v, currency), ticks, 'Cost per hour');
  buckets.forEach((b, i) => {
    const h = ((H - T - B) * b.value) / yMax;
    root.append(svg('rect', {
      class: 'bar', x: (L + bw * i + 1).toFixed(1), y: (H - B - h).toFixed(1),
      width: Math.max(1, bw - 2).toFixed(1), height: Math.max(0, h).toFixed(1),
    }, svg('title', {}, `${absTime(b.start)} – ${absTime(b.end).slice(11)}: ${b.text}`)));
  });
  return root;
}
