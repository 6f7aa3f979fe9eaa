// A small live line chart in SVG (no library): the last minute of one or more series, scaled to
// the largest value shown. Colours come from the stylesheet (`.s0`, `.s1`), not inline styles.

import { h } from './dom.js';

const W = 300;
const H = 100;
const KEEP = 60;

/**
 * A chart in a `<figure data-chart="key">`. `series` names its lines; `format` writes a value
 * with its unit. `push(values)` adds one point per series (null: no value this time).
 * The figure's `data-points` and `data-last` attributes say how many points it has and the
 * first series' newest value, for tests and for anyone scripting the page.
 */
export function chart(key, title, series, format) {
  const data = series.map(() => []);
  const lines = series.map((_, i) => h('polyline', { class: `line s${i}`, points: '' }));
  const grid = [0.25, 0.5, 0.75].map((f) => h('line', { class: 'grid', x1: 0, x2: W, y1: H * f, y2: H * f }));
  const svg = h('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' }, grid, lines);
  const now = h('span', { class: 'now' });
  const top = h('span', { class: 'scale' });
  const legend = h(
    'ul',
    { class: 'legend' },
    series.map((name, i) => h('li', {}, h('span', { class: `key s${i}` }), name)),
  );
  const fig = h(
    'figure',
    { class: 'chart', 'data-chart': key, 'data-points': 0, role: 'group', 'aria-label': title },
    h('figcaption', {}, h('span', { class: 'title', text: title }), now),
    h('div', { class: 'plot' }, top, svg),
    legend,
  );

  function draw() {
    let max = 0;
    for (const d of data) for (const v of d) if (v !== null && v > max) max = v;
    max = max > 0 ? max * 1.15 : 1;
    top.textContent = format(max);
    data.forEach((d, i) => {
      const off = KEEP - d.length;
      const pts = [];
      d.forEach((v, j) => {
        if (v === null) return;
        const x = ((off + j) / (KEEP - 1)) * W;
        const y = H - (v / max) * H;
        pts.push(`${x.toFixed(1)},${y.toFixed(1)}`);
      });
      lines[i].setAttribute('points', pts.join(' '));
    });
  }

  return {
    el: fig,
    push(values) {
      values.forEach((v, i) => {
        data[i].push(Number.isFinite(v) ? v : null);
        if (data[i].length > KEEP) data[i].shift();
      });
      fig.dataset.points = String(data[0].length);
      const last = values[0];
      fig.dataset.last = Number.isFinite(last) ? String(last) : '';
      now.textContent = values.map((v, i) => `${series.length > 1 ? series[i] + ' ' : ''}${Number.isFinite(v) ? format(v) : '–'}`).join(' · ');
      draw();
    },
  };
}
