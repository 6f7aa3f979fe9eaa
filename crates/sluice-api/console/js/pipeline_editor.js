// A pipeline as one formatted JSON text per stage. The server names the stage a validation
// error is about ("stage 1 ($tumblingWindow): …"); its message is shown next to that stage.

import { h, uid, pretty } from './dom.js';

const STAGE_ERROR = /stage (\d+) \(([^)]*)\)/;

function rowsFor(text) {
  return Math.min(18, Math.max(3, text.split('\n').length));
}

/**
 * An editor over `stages` (an array). `readOnly` shows it without editing controls.
 * Returns `{el, value(), showError(message), clearErrors()}`; `value()` throws an Error naming
 * the stage when a stage is not valid JSON (and shows it there).
 */
export function pipelineEditor(stages, { readOnly = false, label = 'Pipeline' } = {}) {
  const top = h('p', { class: 'error', role: 'alert', hidden: true, 'data-pipeline-error': '' });
  const list = h('ol', { class: 'stages', start: 0 });
  const items = [];

  function renumber() {
    items.forEach((it, i) => {
      it.label.textContent = `Stage ${i}`;
      it.textarea.dataset.stage = String(i);
      it.error.dataset.stageError = String(i);
      if (it.remove) it.remove.textContent = `Remove stage ${i}`;
    });
  }

  function add(stage, focus = false) {
    const text = typeof stage === 'string' ? stage : pretty(stage);
    const id = uid('stage');
    const eid = uid('stageerr');
    const textarea = h('textarea', {
      id,
      class: 'code',
      rows: rowsFor(text),
      spellcheck: 'false',
      autocomplete: 'off',
      readonly: readOnly,
      'aria-describedby': eid,
    });
    textarea.value = text;
    textarea.addEventListener('input', () => {
      textarea.rows = rowsFor(textarea.value);
    });
    const labelEl = h('label', { for: id });
    const error = h('p', { id: eid, class: 'stage-error', role: 'alert', hidden: true });
    const it = { textarea, label: labelEl, error, remove: null };
    if (!readOnly) {
      it.remove = h('button', {
        type: 'button',
        class: 'small ghost',
        onclick: () => {
          const i = items.indexOf(it);
          items.splice(i, 1);
          li.remove();
          renumber();
        },
      });
    }
    const li = h('li', { class: 'stage' }, h('div', { class: 'stage-head' }, labelEl, it.remove), textarea, error);
    items.push(it);
    list.append(li);
    renumber();
    if (focus) textarea.focus();
  }

  (stages || []).forEach((s) => add(s));
  const controls = readOnly
    ? null
    : h('button', { type: 'button', class: 'small', onclick: () => add('{}', true), text: 'Add stage' });
  const el = h('div', { class: 'pipeline', role: 'group', 'aria-label': label }, top, list, controls);

  function clearErrors() {
    top.hidden = true;
    top.textContent = '';
    for (const it of items) {
      it.error.hidden = true;
      it.error.textContent = '';
      it.textarea.removeAttribute('aria-invalid');
    }
  }

  function showAt(index, message) {
    const it = items[index];
    if (!it) {
      top.textContent = message;
      top.hidden = false;
      return;
    }
    it.error.textContent = message;
    it.error.hidden = false;
    it.textarea.setAttribute('aria-invalid', 'true');
    it.textarea.scrollIntoView({ block: 'center' });
  }

  return {
    el,
    clearErrors,
    /** Shows the server's message next to the stage it names, or above the stages. */
    showError(message) {
      clearErrors();
      const m = STAGE_ERROR.exec(message || '');
      showAt(m ? Number(m[1]) : -1, message);
    },
    /** The stages as values. */
    value() {
      clearErrors();
      return items.map((it, i) => {
        try {
          return JSON.parse(it.textarea.value);
        } catch (e) {
          const msg = `stage ${i} (not JSON): ${e.message}`;
          showAt(i, msg);
          throw new Error(msg);
        }
      });
    },
  };
}
