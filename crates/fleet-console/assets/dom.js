// A tiny element builder: text always goes in as text, never as HTML.

/**
 * el('a', {href: '#/x', class: 'btn', dataset: {id}}, 'text', child, ...)
 * Attributes: class, style (set through the CSSOM), dataset, on<Event> (functions), hidden/disabled/checked (booleans),
 * anything else set with setAttribute. Children: nodes, strings, arrays, null/false.
 */
export function el(tag, attrs = {}, ...children) {
  const node = tag === 'svg' || attrs?.ns === 'svg'
    ? document.createElementNS('http://www.w3.org/2000/svg', tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false || k === 'ns') continue;
    if (k === 'class') node.setAttribute('class', v);
    // Through the CSSOM: the page's policy refuses style attributes (no 'unsafe-inline').
    else if (k === 'style') node.style.cssText = String(v);
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') node.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'value' && 'value' in node && tag !== 'button') node.value = v;
    else if (k === 'checked' || k === 'selected') node[k] = !!v;
    else if (v === true) node.setAttribute(k, '');
    else node.setAttribute(k, String(v));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(node, c);
    else node.append(c instanceof Node ? c : String(c));
  }
}

/** An SVG element. */
export function svg(tag, attrs = {}, ...children) {
  return el(tag, { ...attrs, ns: 'svg' }, ...children);
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

/** A state badge: <span class="badge state-X" data-state="X">X</span>. */
export function badge(state, attrs = {}) {
  const b = el('span', attrs);
  setBadge(b, state);
  return b;
}

export function setBadge(b, state) {
  if (b.dataset.state === state) return;
  b.className = `badge state-${state}`;
  b.dataset.state = state;
  b.textContent = state;
}

/** <select> with options [{value, label}] or strings; first option optional "any". */
export function select(id, options, { any, value, label } = {}) {
  const s = el('select', { id, name: id, 'aria-label': label });
  if (any) s.append(el('option', { value: '' }, any));
  for (const o of options) {
    const v = typeof o === 'string' ? o : o.value;
    s.append(el('option', { value: v }, typeof o === 'string' ? o : o.label));
  }
  if (value != null) s.value = value;
  return s;
}

/** A labelled field: <div class="field"><label for=id>text</label>control</div>. */
export function field(labelText, control) {
  return el('div', { class: 'field' }, el('label', { for: control.id }, labelText), control);
}
