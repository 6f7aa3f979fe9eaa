// Building DOM nodes without HTML strings: every text from the server goes in as text, never
// as markup, so nothing it holds can run in the page.

const SVG = 'http://www.w3.org/2000/svg';
const SVG_TAGS = new Set(['svg', 'polyline', 'line', 'g', 'rect', 'text']);
let next = 0;

/** A unique element id, for labels and descriptions. */
export function uid(prefix = 'f') {
  next += 1;
  return `${prefix}${next}`;
}

/**
 * An element: `attrs` are attributes (`on…` keys are event listeners, `text` the text content;
 * false, null and undefined leave an attribute out), children are nodes or text.
 */
export function h(tag, attrs = {}, ...kids) {
  const el = SVG_TAGS.has(tag) ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A labelled control: the label names it for screen readers and for tests. */
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const parts = [h('label', { for: control.id, text: label }), control];
  if (hint) {
    const hid = uid('hint');
    control.setAttribute('aria-describedby', hid);
    parts.push(h('small', { id: hid, class: 'hint', text: hint }));
  }
  return h('div', { class: 'field' }, parts);
}

/** A section with a heading. */
export function section(title, ...kids) {
  const id = uid('sec');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, text: title }), ...kids);
}

/**
 * A table with column headings, in a box that scrolls sideways on a narrow screen rather than
 * widening the page. `attrs` go on the table.
 */
export function table(headings, rows, attrs = {}) {
  const head = h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col', text: t }))));
  return h('div', { class: 'scroll' }, h('table', attrs, head, h('tbody', {}, rows)));
}

/** Replaces the children of `el`. */
export function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
  return el;
}

/** A processor's or run's state as a badge. */
export function stateBadge(state) {
  return h('span', { class: `badge state-${String(state).toLowerCase()}`, 'data-state': state, text: state });
}

/** Pretty JSON, for documents and pipelines. */
export function pretty(v) {
  return JSON.stringify(v, null, 2);
}

/** A short message at the bottom of the page, read out by screen readers. */
export function toast(message, kind = 'info') {
  const t = document.getElementById('toast');
  if (!t) return;
  t.className = `show ${kind}`;
  t.textContent = message;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => {
    t.className = '';
  }, 4000);
}

/** An error's message as the server worded it. */
export function errorText(e) {
  return e && e.detail ? e.detail : String(e && e.message ? e.message : e);
}
