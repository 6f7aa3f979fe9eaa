// A processor's page: its state and the Start, Stop, Pause and Resume buttons, live charts
// polled every second, its last output documents and dead letters, and its pipeline in an
// editor that shows the server's validation error next to the stage it names.

import { h, section, fill, stateBadge, pretty, toast, errorText } from './dom.js';
import { chart } from './chart.js';
import { pipelineEditor } from './pipeline_editor.js';
import * as api from './api.js';

/** Which button each state allows (the server's transition table, docs/api.md). */
const ALLOWED = {
  start: ['CREATED', 'STOPPED', 'FAILED'],
  stop: ['STARTED', 'PAUSED'],
  pause: ['STARTED'],
  resume: ['PAUSED'],
};
const RUNNING = ['STARTED', 'PAUSED'];

const rate = (v) => `${v.toFixed(v < 10 ? 1 : 0)}/s`;
const ms = (v) => `${v.toFixed(v < 10 ? 2 : 0)} ms`;
const secs = (v) => `${v.toFixed(1)} s`;
const count = (v) => String(Math.round(v));

function docsList(kind, docs, empty) {
  if (!docs.length) return h('p', { class: 'muted', text: empty });
  return h('ol', { class: 'docs', [`data-${kind}`]: '' }, docs.map((d) => h('li', { 'data-doc': '' }, h('pre', { class: 'code', text: pretty(d) }))));
}

/** Renders processor `name` of workspace `ws`; returns its cleanup. */
export function processorPage(main, ws, name) {
  const me = api.current();
  const path = api.procPath(ws, name);
  const can = me.can.manageProcessors;
  let alive = true;
  let timer = null;
  // Counts of the last few polls, so that rates are averaged over about three seconds (a window
  // writes its output in bursts).
  let history = [];
  let state = null;
  let shownSample = '';
  let shownDlq = '';

  const badge = h('span', {});
  const failure = h('p', { class: 'error', role: 'alert', hidden: true });
  const buttons = {};
  for (const [verb, label] of [['start', 'Start'], ['stop', 'Stop'], ['pause', 'Pause'], ['resume', 'Resume']]) {
    buttons[verb] = h('button', {
      type: 'button',
      class: verb === 'stop' ? 'danger' : 'primary',
      disabled: true,
      title: can ? null : 'Your role cannot change processors',
      onclick: () => act(verb, label),
      text: label,
    });
  }
  const actionError = h('p', { class: 'error', role: 'alert', hidden: true });
  const charts = {
    events: chart('events', 'Events per second', ['in', 'out'], rate),
    latency: chart('latency', 'Latency', ['p50', 'p99'], ms),
    lag: chart('watermark-lag', 'Watermark lag', ['lag'], secs),
    dlq: chart('dlq', 'Dead letters', ['DLQ'], count),
  };
  const figures = h('dl', { class: 'figures' });
  const sample = h('div', { 'aria-live': 'off' });
  const dlq = h('div', { 'aria-live': 'off' });
  const editorSlot = h('div', {});
  let editor = null;
  const saveError = h('p', { class: 'error', role: 'alert', hidden: true });
  const save = h('button', { type: 'button', class: 'primary', disabled: !can, text: 'Save pipeline', onclick: savePipeline });

  async function act(verb, label) {
    actionError.hidden = true;
    for (const b of Object.values(buttons)) b.disabled = true;
    try {
      await api.post(`${path}:${verb}`);
      toast(`${label}: done`);
    } catch (e) {
      actionError.textContent = errorText(e);
      actionError.hidden = false;
    }
    history = [];
    await refresh(false);
  }

  async function savePipeline() {
    saveError.hidden = true;
    let pipeline;
    try {
      pipeline = editor.value();
    } catch {
      return;
    }
    try {
      await api.patch(path, { pipeline });
      toast('Pipeline saved');
    } catch (e) {
      const text = errorText(e);
      if (/stage \d+ \(/.test(text)) editor.showError(text);
      else {
        saveError.textContent = text;
        saveError.hidden = false;
      }
    }
  }

  function showState(p) {
    state = p.state;
    fill(badge, stateBadge(p.state));
    failure.hidden = !p.errorMsg;
    failure.textContent = p.errorMsg || '';
    for (const [verb, b] of Object.entries(buttons)) b.disabled = !can || !ALLOWED[verb].includes(p.state);
    save.disabled = !can || RUNNING.includes(p.state);
    const s = p.stats;
    const rows = [
      ['Input', `${s.inputMessageCount} events`],
      ['Output', `${s.outputMessageCount} documents`],
      ['Dead letters', String(s.dlqMessageCount)],
      ['State size', `${s.stateSize} bytes`],
      ['Watermark', s.watermark || '–'],
      ['Tier', p.tier],
    ];
    fill(figures, rows.flatMap(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })]));
  }

  function plot(s) {
    const now = performance.now() / 1000;
    const cur = { t: now, in: s.inputMessageCount, out: s.outputMessageCount };
    const prev = history[0];
    history.push(cur);
    if (history.length > 4) history.shift();
    if (prev && now > prev.t) {
      const dt = now - prev.t;
      const inRate = Math.max(0, (cur.in - prev.in) / dt);
      const outRate = Math.max(0, (cur.out - prev.out) / dt);
      charts.events.push([inRate, outRate]);
      const lat = s.latency;
      charts.latency.push(lat ? [lat.p50 / 1000, lat.p99 / 1000] : [null, null]);
      const lag = s.watermark ? Math.max(0, (Date.now() - Date.parse(s.watermark)) / 1000) : null;
      charts.lag.push([lag]);
      charts.dlq.push([s.dlqMessageCount]);
    }
  }

  async function refresh(withDocs = true) {
    let p;
    try {
      p = await api.get(path);
    } catch (e) {
      failure.textContent = errorText(e);
      failure.hidden = false;
      return;
    }
    if (!alive) return;
    showState(p);
    plot(p.stats);
    if (!editor) {
      editor = pipelineEditor(p.pipeline, { readOnly: !can, label: 'Pipeline' });
      fill(editorSlot, editor.el);
    }
    if (withDocs && RUNNING.includes(p.state)) {
      try {
        const [out, dead] = await Promise.all([api.get(`${path}/sample?limit=5`), api.get(`${path}/dlq?limit=5`)]);
        const o = JSON.stringify(out.results);
        if (o !== shownSample) {
          shownSample = o;
          fill(sample, docsList('sample', out.results.slice().reverse(), 'No output yet.'));
        }
        const d = JSON.stringify(dead.results);
        if (d !== shownDlq) {
          shownDlq = d;
          fill(dlq, docsList('dlq', dead.results.slice().reverse(), 'No dead letters.'));
        }
      } catch {
        // The next poll tries again.
      }
    }
  }

  const loop = async () => {
    await refresh();
    if (alive) timer = setTimeout(loop, 1000);
  };

  fill(
    main,
    h('h1', {}, `Processor ${name} `, badge),
    failure,
    h(
      'div',
      { class: 'toolbar', role: 'toolbar', 'aria-label': 'Processor actions' },
      buttons.start,
      buttons.stop,
      buttons.pause,
      buttons.resume,
      can ? null : h('span', { class: 'muted', text: 'Read-only: your role cannot change processors.' }),
    ),
    actionError,
    h('div', { class: 'charts' }, Object.values(charts).map((c) => c.el)),
    h('div', { class: 'columns three' }, section('Figures', figures), section('Last output documents', sample), section('Last dead letters', dlq)),
    section(
      'Pipeline',
      h('p', { class: 'muted', text: 'Stop the processor to change its pipeline. The server checks it and names the stage it refuses.' }),
      editorSlot,
      saveError,
      h('div', { class: 'actions' }, save),
    ),
  );
  loop();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
