// Sign-in: an API key (public and private key) or a service account (client id and secret),
// exchanged once for a session. The inputs are emptied right after, so the page does not keep
// the secret either.

import { h, field, fill, errorText } from './dom.js';
import * as api from './api.js';

/** Renders the sign-in form into `main`; `done` runs once signed in. */
export function signInPage(main, done, notice) {
  let mode = 'key';
  const publicKey = h('input', { name: 'publicKey', autocomplete: 'username', required: true, spellcheck: 'false' });
  const privateKey = h('input', { name: 'privateKey', type: 'password', autocomplete: 'off', required: true });
  const clientId = h('input', { name: 'clientId', autocomplete: 'off', spellcheck: 'false' });
  const clientSecret = h('input', { name: 'clientSecret', type: 'password', autocomplete: 'off' });
  const keyFields = h('div', {}, field('Public key', publicKey), field('Private key', privateKey));
  const saFields = h('div', { hidden: true }, field('Client ID', clientId), field('Client secret', clientSecret));
  const error = h('p', { class: 'error', role: 'alert', hidden: !notice, text: notice || '' });
  const button = h('button', { type: 'submit', class: 'primary', text: 'Sign in' });

  function choose(m) {
    mode = m;
    keyFields.hidden = m !== 'key';
    saFields.hidden = m === 'key';
    publicKey.required = privateKey.required = m === 'key';
    clientId.required = clientSecret.required = m !== 'key';
  }
  const radio = (value, text, checked) => {
    const input = h('input', { type: 'radio', name: 'mode', value, checked, onchange: () => choose(value) });
    return h('label', { class: 'radio' }, input, text);
  };

  const form = h(
    'form',
    {
      class: 'card signin',
      'aria-labelledby': 'signin-title',
      onsubmit: async (ev) => {
        ev.preventDefault();
        error.hidden = true;
        button.disabled = true;
        const creds =
          mode === 'key'
            ? { publicKey: publicKey.value.trim(), privateKey: privateKey.value }
            : { clientId: clientId.value.trim(), clientSecret: clientSecret.value };
        try {
          await api.signIn(creds);
          privateKey.value = '';
          clientSecret.value = '';
          done();
        } catch (e) {
          error.textContent = e.status === 401 ? 'Those credentials are not valid.' : errorText(e);
          error.hidden = false;
          button.disabled = false;
        }
      },
    },
    h('h1', { id: 'signin-title', text: 'Sign in to Sluice' }),
    h('fieldset', { class: 'modes' }, h('legend', { text: 'Sign in with' }), radio('key', 'API key', true), radio('sa', 'Service account', false)),
    keyFields,
    saFields,
    error,
    button,
    h('p', {
      class: 'muted',
      text: 'The key is exchanged once for a session that ends after 30 minutes without use; the browser does not keep it.',
    }),
  );
  fill(main, form);
  publicKey.focus();
}
