// The console's entry point: the session, the header, and a hash router over three pages
// (project, workspace, processor). Each page returns a cleanup that stops its polling.

import { h, fill, toast } from './dom.js';
import * as api from './api.js';
import { signInPage } from './signin.js';
import { workspacesPage } from './workspaces.js';
import { workspacePage } from './workspace.js';
import { processorPage } from './processor.js';

const main = document.getElementById('main');
const crumbs = document.getElementById('crumbs');
const who = document.getElementById('who');
let cleanup = () => {};

function header(parts) {
  const me = api.current();
  if (!me) {
    fill(crumbs);
    fill(who);
    return;
  }
  const links = [['#/', me.projectName || 'Project']];
  if (parts[0] === 'w' && parts[1]) links.push([`#/w/${encodeURIComponent(parts[1])}`, parts[1]]);
  if (parts[2] === 'p' && parts[3]) links.push([`#/w/${encodeURIComponent(parts[1])}/p/${encodeURIComponent(parts[3])}`, parts[3]]);
  fill(
    crumbs,
    h(
      'ol',
      {},
      links.map(([href, text], i) => h('li', {}, h('a', { href, text, 'aria-current': i === links.length - 1 ? 'page' : null }))),
    ),
  );
  fill(
    who,
    h('span', { class: 'subject', title: me.roles.join(', '), text: me.subject }),
    h('span', { class: 'role', text: me.can.manageProcessors ? 'can run processors' : me.can.manageWorkspaces ? 'can manage' : 'read-only' }),
    h(
      'button',
      {
        type: 'button',
        class: 'small ghost',
        onclick: async () => {
          await api.signOut();
          route('Signed out.');
        },
        text: 'Sign out',
      },
    ),
  );
}

function route(notice) {
  cleanup();
  cleanup = () => {};
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(decodeURIComponent);
  header(parts);
  if (!api.current()) {
    signInPage(main, () => route(), typeof notice === 'string' ? notice : null);
    return;
  }
  if (parts[0] === 'w' && parts[1] && parts[2] === 'p' && parts[3]) cleanup = processorPage(main, parts[1], parts[3]);
  else if (parts[0] === 'w' && parts[1]) cleanup = workspacePage(main, parts[1]);
  else cleanup = workspacesPage(main);
  const title = main.querySelector('h1');
  document.title = title ? `${title.textContent} · Sluice` : 'Sluice console';
  main.focus({ preventScroll: true });
}

api.onSignedOut((message) => {
  toast(message, 'error');
  route(message);
});
window.addEventListener('hashchange', () => route());
api.resume().then(() => route(), () => route());
