// The project's page: its workspaces, and a form to create one.

import { h, field, section, fill, table, toast, errorText } from './dom.js';
import * as api from './api.js';

/** The regions the server accepts for each provider. */
const REGIONS = {
  AWS: ['VIRGINIA_USA', 'OHIO_USA', 'OREGON_USA', 'MONTREAL_CAN', 'SAOPAULO_BRA', 'DUBLIN_IRL', 'LONDON_GBR',
    'FRANKFURT_DEU', 'PARIS_FRA', 'MUMBAI_IND', 'SINGAPORE_SGP', 'SYDNEY_AUS', 'TOKYO_JPN', 'SEOUL_KOR'],
  AZURE: ['eastus', 'eastus2', 'westus', 'westeurope', 'brazilsouth', 'australiaeast'],
  GCP: ['US_CENTRAL1', 'US_EAST4', 'EUROPE_WEST1'],
};
const TIERS = ['SP2', 'SP5', 'SP10', 'SP30', 'SP50'];

/** Renders the project's page; returns its cleanup. */
export function workspacesPage(main) {
  const me = api.current();
  const list = h('div', { 'aria-live': 'polite' }, h('p', { class: 'muted', text: 'Loading…' }));

  async function load() {
    try {
      const r = await api.get(api.streams());
      if (!r.results.length) {
        fill(list, h('p', { class: 'muted', text: 'No workspaces yet.' }));
        return;
      }
      const rows = r.results.map((w) =>
        h(
          'tr',
          { 'data-workspace': w.name },
          h('td', {}, h('a', { href: `#/w/${encodeURIComponent(w.name)}`, text: w.name })),
          h('td', { text: `${w.dataProcessRegion.cloudProvider} ${w.dataProcessRegion.region}` }),
          h('td', { text: w.streamConfig.tier }),
          h('td', { text: String(w.connections.length) }),
        ),
      );
      fill(list, table(['Workspace', 'Region', 'Tier', 'Connections'], rows));
    } catch (e) {
      fill(list, h('p', { class: 'error', role: 'alert', text: errorText(e) }));
    }
  }

  const can = me.can.manageWorkspaces;
  const name = h('input', { name: 'name', required: true, pattern: '[A-Za-z0-9_\\-]+', disabled: !can });
  const region = h('select', { name: 'region', disabled: !can });
  const regions = (p) => fill(region, REGIONS[p].map((r) => h('option', { text: r })));
  const provider = h(
    'select',
    { name: 'cloudProvider', disabled: !can, onchange: () => regions(provider.value) },
    Object.keys(REGIONS).map((p) => h('option', { text: p })),
  );
  regions('AWS');
  const tier = h('select', { name: 'tier', disabled: !can }, TIERS.map((t) => h('option', { text: t, selected: t === 'SP10' })));
  const sample = h('input', { type: 'checkbox', name: 'sample', checked: true, disabled: !can });
  const error = h('p', { class: 'error', role: 'alert', hidden: true });
  const form = h(
    'form',
    {
      class: 'grid-form',
      onsubmit: async (ev) => {
        ev.preventDefault();
        error.hidden = true;
        try {
          await api.post(api.streams(), {
            name: name.value.trim(),
            dataProcessRegion: { cloudProvider: provider.value, region: region.value },
            streamConfig: { tier: tier.value },
            sampleConnections: { solar: sample.checked },
          });
          toast(`Workspace ${name.value} created`);
          location.hash = `#/w/${encodeURIComponent(name.value.trim())}`;
        } catch (e) {
          error.textContent = errorText(e);
          error.hidden = false;
        }
      },
    },
    field('Workspace name', name),
    field('Cloud provider', provider),
    field('Region', region),
    field('Tier', tier),
    h('div', { class: 'field check' }, h('label', {}, sample, ' Add the sample stream (sample_stream_solar)')),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary', disabled: !can, text: 'Create workspace' })),
  );

  fill(
    main,
    h('h1', { text: `Project ${me.projectName || me.projectId}` }),
    h('p', { class: 'muted' }, `Project ID ${me.projectId} · your roles: ${me.roles.join(', ')}`),
    section('Workspaces', list),
    section('Create a workspace', can ? null : h('p', { class: 'muted', text: 'Your role cannot create workspaces.' }), form),
  );
  load();
  return () => {};
}
