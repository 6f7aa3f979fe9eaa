// A workspace's page: its connections (secrets are never sent by the server), its processors
// with their states, forms to create a connection and a processor, and its operational logs.

import { h, field, section, fill, table, stateBadge, pretty, toast, errorText } from './dom.js';
import { pipelineEditor } from './pipeline_editor.js';
import * as api from './api.js';

/** What a new processor's editor starts with: the sample stream in 2-second windows. */
const TEMPLATE = [
  { $source: { connectionName: 'sample_stream_solar' } },
  {
    $tumblingWindow: {
      interval: { size: 2, unit: 'second' },
      pipeline: [{ $group: { _id: '$group_id', max_watts: { $max: '$obs.watts' }, readings: { $sum: 1 } } }],
    },
  },
];

/** Settings each connection type starts with. */
const CONNECTION_TEMPLATES = {
  Kafka: {
    bootstrapServers: 'localhost:9092',
    security: { protocol: 'PLAINTEXT' },
    authentication: { mechanism: 'PLAIN', username: '', password: '' },
  },
  Cluster: { connectionString: 'mongodb://localhost:27017' },
  Https: { url: 'https://example.internal/api', headers: {} },
  Sample: {},
};

/** The settings worth a glance in the list (never secrets: the server drops them). */
function summary(c) {
  return c.bootstrapServers || c.clusterName || c.connectionString || c.url || (c.type === 'Sample' ? 'sample stream' : '');
}

/** Renders workspace `ws`; returns its cleanup. */
export function workspacePage(main, ws) {
  const me = api.current();
  let alive = true;
  let timer = null;
  const conns = h('div', {}, h('p', { class: 'muted', text: 'Loading…' }));
  const procs = h('ul', { class: 'processors', 'aria-live': 'polite' });
  const logs = h('div', {});

  async function loadConnections() {
    try {
      const r = await api.get(`${api.wsPath(ws)}/connections`);
      if (!r.results.length) return fill(conns, h('p', { class: 'muted', text: 'No connections.' }));
      const rows = r.results.map((c) => {
        const shown = { ...c };
        delete shown.links;
        const details = h('details', {}, h('summary', { text: summary(c) || 'settings' }), h('pre', { class: 'code', text: pretty(shown) }));
        return h('tr', { 'data-connection': c.name }, h('td', { text: c.name }), h('td', { text: c.type }), h('td', {}, details));
      });
      fill(conns, table(['Connection', 'Type', 'Settings'], rows));
    } catch (e) {
      fill(conns, h('p', { class: 'error', role: 'alert', text: errorText(e) }));
    }
  }

  async function loadProcessors() {
    try {
      const r = await api.get(`${api.wsPath(ws)}/processors`);
      if (!alive) return;
      const items = r.results.map((p) =>
        h(
          'li',
          { 'data-processor': p.name },
          h('a', { href: `#/w/${encodeURIComponent(ws)}/p/${encodeURIComponent(p.name)}`, text: p.name }),
          stateBadge(p.state),
          h('span', { class: 'muted', text: `in ${p.stats.inputMessageCount} · out ${p.stats.outputMessageCount} · DLQ ${p.stats.dlqMessageCount}` }),
        ),
      );
      fill(procs, items.length ? items : h('li', { class: 'muted', text: 'No processors yet.' }));
    } catch (e) {
      fill(procs, h('li', { class: 'error', role: 'alert', text: errorText(e) }));
    }
  }

  async function loadLogs() {
    if (!me.can.readLogs) return fill(logs, h('p', { class: 'muted', text: 'Your role cannot read logs.' }));
    try {
      const lines = (await api.operationalLogs(ws)).slice(-200).reverse();
      if (!lines.length) return fill(logs, h('p', { class: 'muted', text: 'No log lines yet.' }));
      const rows = lines.map((l) => {
        // The processor's id is left out: its name says the same.
        const { t, processor, msg, processorId, event, state, ...rest } = l;
        const extra = Object.entries(rest)
          .filter(([, v]) => v !== null && v !== undefined)
          .map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
        const head = msg || [event, state && `→ ${state}`].filter(Boolean).join(' ');
        const text = [head, ...extra].filter(Boolean).join(' · ');
        return h('tr', {}, h('td', { class: 'nowrap', text: t || '' }), h('td', { text: processor || '' }), h('td', { text }));
      });
      fill(logs, table(['Time', 'Processor', 'Message'], rows, { class: 'logs', 'data-logs': '' }));
    } catch (e) {
      fill(logs, h('p', { class: 'error', role: 'alert', text: errorText(e) }));
    }
  }

  // The processor form.
  const canRun = me.can.manageProcessors;
  const pname = h('input', { name: 'processorName', required: true, disabled: !canRun });
  const editor = pipelineEditor(TEMPLATE, { readOnly: !canRun, label: 'New processor pipeline' });
  const perror = h('p', { class: 'error', role: 'alert', hidden: true });
  const procForm = h(
    'form',
    {
      'aria-label': 'Create a processor',
      onsubmit: async (ev) => {
        ev.preventDefault();
        perror.hidden = true;
        let pipeline;
        try {
          pipeline = editor.value();
        } catch {
          return;
        }
        try {
          await api.post(`${api.wsPath(ws)}/processor`, { name: pname.value.trim(), pipeline });
          toast(`Processor ${pname.value} created`);
          location.hash = `#/w/${encodeURIComponent(ws)}/p/${encodeURIComponent(pname.value.trim())}`;
        } catch (e) {
          if (/stage \d+ \(/.test(errorText(e))) editor.showError(errorText(e));
          else {
            perror.textContent = errorText(e);
            perror.hidden = false;
          }
        }
      },
    },
    canRun ? null : h('p', { class: 'muted', text: 'Your role cannot create processors.' }),
    field('Processor name', pname),
    editor.el,
    perror,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', disabled: !canRun, text: 'Create processor' })),
  );

  // The connection form.
  const canManage = me.can.manageWorkspaces;
  const cname = h('input', { name: 'connectionName', required: true, disabled: !canManage });
  const settings = h('textarea', { name: 'settings', class: 'code', rows: 8, spellcheck: 'false', disabled: !canManage });
  const ctype = h(
    'select',
    { name: 'type', disabled: !canManage, onchange: () => (settings.value = pretty(CONNECTION_TEMPLATES[ctype.value])) },
    Object.keys(CONNECTION_TEMPLATES).map((t) => h('option', { text: t })),
  );
  settings.value = pretty(CONNECTION_TEMPLATES.Kafka);
  const cerror = h('p', { class: 'error', role: 'alert', hidden: true });
  const connForm = h(
    'form',
    {
      'aria-label': 'Create a connection',
      onsubmit: async (ev) => {
        ev.preventDefault();
        cerror.hidden = true;
        try {
          const body = { ...JSON.parse(settings.value || '{}'), name: cname.value.trim(), type: ctype.value };
          await api.post(`${api.wsPath(ws)}/connections`, body);
          toast(`Connection ${cname.value} created`);
          cname.value = '';
          settings.value = pretty(CONNECTION_TEMPLATES[ctype.value]);
          loadConnections();
        } catch (e) {
          cerror.textContent = errorText(e);
          cerror.hidden = false;
        }
      },
    },
    canManage ? null : h('p', { class: 'muted', text: 'Your role cannot create connections.' }),
    field('Connection name', cname),
    field('Type', ctype),
    field('Settings (JSON)', settings, 'Secrets typed here are sent once and never shown again.'),
    cerror,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', disabled: !canManage, text: 'Create connection' })),
  );

  fill(
    main,
    h('h1', { text: `Workspace ${ws}` }),
    h(
      'div',
      { class: 'columns' },
      h('div', {}, section('Processors', procs), section('Connections', conns)),
      h('div', {}, section('Create a processor', procForm)),
    ),
    section('Create a connection', connForm),
    section('Operational logs', h('div', { class: 'actions' }, h('button', { type: 'button', onclick: loadLogs, text: 'Refresh logs' })), logs),
  );
  loadConnections();
  loadLogs();
  const poll = async () => {
    await loadProcessors();
    if (alive) timer = setTimeout(poll, 2000);
  };
  poll();
  return () => {
    alive = false;
    clearTimeout(timer);
  };
}
