// Domain knowledge the pages share: states, which actions a state allows, labels and
// label selectors, and the catalog (read once).
import { api } from './api.js';

export const STATES = ['provisioning', 'starting', 'running', 'rebooting', 'stopping', 'stopped', 'failed', 'terminating', 'terminated'];
export const ACTIONS = ['start', 'stop', 'reboot', 'terminate'];

// The lifecycle table, copied from fleet-domain's src/state.rs (keep the two in step),
// without its no-ops: the actions that change something in each state.
const ALLOWED = {
  running: ['stop', 'reboot', 'terminate'],
  stopped: ['start', 'terminate'],
  provisioning: ['terminate'],
  starting: ['terminate'],
  stopping: ['terminate'],
  rebooting: ['terminate'],
  failed: ['terminate'],
  terminating: [],
  terminated: [],
};

export function allowedActions(state) {
  return Object.hasOwn(ALLOWED, state) ? ALLOWED[state] : [];
}

// The label prefix the service reserves for itself: RESERVED_PREFIX ("fleet.dev") and its
// "/" in fleet-domain's src/labels.rs. Such labels are shown but not removable here.
export const RESERVED_LABEL_PREFIX = 'fleet.dev/';

let catalog = null;
export function getCatalog(signal) {
  if (!catalog) {
    catalog = api('/catalog', { signal });
    catalog.catch(() => { catalog = null; });
  }
  return catalog;
}

/** "a=1, b=2" → {a: "1", b: "2"}; a bare "k" is k="" ; throws on an empty key. The object
 * has no prototype, so keys such as "__proto__" or "constructor" are kept as plain keys. */
export function parseLabels(text) {
  const out = Object.create(null);
  for (const part of text.split(',')) {
    const p = part.trim();
    if (!p) continue;
    const i = p.indexOf('=');
    const k = (i < 0 ? p : p.slice(0, i)).trim();
    const v = i < 0 ? '' : p.slice(i + 1).trim();
    if (!k) throw new Error(`Label "${p}" has no key.`);
    out[k] = v;
  }
  return out;
}

/** Whether labels match a Kubernetes-style selector (for deciding if a new server belongs
 * in a filtered list; the service stays the judge on reload). Unparseable → true. */
export function selectorMatches(selector, labels) {
  const sel = (selector || '').trim();
  if (!sel) return true;
  labels = labels || {};
  const has = (k) => Object.hasOwn(labels, k);
  const parts = sel.match(/(?:[^,(]+|\([^)]*\))+/g) || [];
  for (const raw of parts) {
    const r = raw.trim();
    let m;
    if ((m = r.match(/^!\s*(\S+)$/))) { if (has(m[1])) return false; continue; }
    if ((m = r.match(/^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/))) {
      const vals = m[3].split(',').map((v) => v.trim());
      const hit = has(m[1]) && vals.includes(labels[m[1]]);
      if (m[2] === 'in' ? !hit : hit) return false;
      continue;
    }
    if ((m = r.match(/^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/))) {
      const eq = has(m[1]) && labels[m[1]] === m[3];
      if (m[2] === '!=' ? eq : !eq) return false;
      continue;
    }
    if ((m = r.match(/^(\S+)$/))) { if (!has(m[1])) return false; continue; }
    return true;
  }
  return true;
}
