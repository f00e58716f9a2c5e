import { useEffect, useRef, useState } from 'preact/hooks';
import { mayWriteAny } from './access.js';
import { api, newIdempotencyKey, postOnce } from './api.js';
import { announce } from './changes.js';
import { normalizeConversation, PRIORITIES } from './conversation-model.js';
import { html } from './html.js';
import { TemplatePicker } from './template-picker.js';
import { ErrorNote } from './ui.js';

/** A 409 because the number has not written in the last 24 hours (or never): only a template may go. */
const outsideWindow = (err) => err?.status === 409 && (err.details?.reason === 'outside_24h_window' || err.code === 'outside_24h_window');

/**
 * Starts a conversation (POST /api/v1/conversations): a number and a text, or an approved template
 * with its variables. One Idempotency-Key per submission, kept for a retry of the same form (so a
 * lost answer never sends twice) and replaced once the form changes. Opens the new conversation.
 */
export function NewConversation({ me }) {
  const [phone, setPhone] = useState('');
  const [kind, setKind] = useState('text');
  const [text, setText] = useState('');
  const [templates, setTemplates] = useState();
  const [template, setTemplate] = useState();
  const [values, setValues] = useState({});
  const [priority, setPriority] = useState('normal');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState();
  const key = useRef();

  useEffect(() => {
    api('GET', '/api/v1/templates?status=APPROVED&limit=1000').then(({ templates: list }) => setTemplates(list), setError);
  }, []);

  // Any edit makes the next submission a new one, with a new key.
  const edit = (set) => (value) => {
    key.current = undefined;
    setError(undefined);
    set(value);
  };

  async function submit(event) {
    event.preventDefault();
    if (busy) return;
    key.current ??= newIdempotencyKey();
    const body = {
      phone: phone.trim(),
      ...(kind === 'text' ? { message: text } : { template: { id: template?.id, variables: values } }),
      ...(priority !== 'normal' ? { priority } : {}),
    };
    setBusy(true);
    setError(undefined);
    try {
      const { conversation } = await postOnce('/api/v1/conversations', body, key.current);
      key.current = undefined;
      announce(normalizeConversation(conversation));
      location.hash = `#/inbox/${conversation.id}`;
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  if (!mayWriteAny(me)) return html`<section class="chat empty"><p class="muted">A ${me?.role} user cannot start conversations.</p></section>`;
  const useTemplate = () => (edit(setKind)('template'), setTimeout(() => document.querySelector('.new-conversation select[name=template]')?.focus()));
  return html`<section class="chat new-conversation-pane">
    <form class="card new-conversation" onSubmit=${submit}>
      <h2>New conversation</h2>
      <label
        >WhatsApp number
        <input
          name="phone"
          type="tel"
          required
          autocomplete="off"
          placeholder="+15550001111"
          value=${phone}
          onInput=${(e) => edit(setPhone)(e.currentTarget.value)}
      /></label>
      <div class="segmented" role="group" aria-label="Message kind">
        ${[
          ['text', 'Text'],
          ['template', 'Template'],
        ].map(
          ([value, label]) =>
            html`<button type="button" class=${kind === value ? 'on' : ''} aria-pressed=${kind === value} onClick=${() => edit(setKind)(value)}>
              ${label}
            </button>`,
        )}
      </div>
      ${
        kind === 'text'
          ? html`<label
              >Message
              <textarea name="text" rows="4" maxlength="4096" required value=${text} onInput=${(e) => edit(setText)(e.currentTarget.value)}></textarea>
              <span class="muted small">Free text reaches only a number that wrote in the last 24 hours; otherwise send a template.</span>
            </label>`
          : html`<${TemplatePicker}
              templates=${templates}
              template=${template}
              values=${values}
              disabled=${busy}
              onTemplate=${(t) => (edit(setTemplate)(t), setValues({}))}
              onValues=${edit(setValues)}
            />`
      }
      <label
        >Priority
        <select name="priority" value=${priority} onChange=${(e) => edit(setPriority)(e.currentTarget.value)}>
          ${PRIORITIES.map((p) => html`<option value=${p}>${p[0].toUpperCase() + p.slice(1)}</option>`)}
        </select></label
      >
      ${
        outsideWindow(error)
          ? html`<div class="window-closed" role="alert" data-reason="outside_24h_window">
              <strong>The 24-hour window is closed for this number.</strong>
              <span>WhatsApp lets a business write first, or again after 24 hours without a message from the customer, only with an approved template.</span>
              <span class="muted small">${error.message}</span>
              ${kind === 'text' ? html`<button type="button" class="primary" onClick=${useTemplate}>Send a template instead</button>` : null}
            </div>`
          : html`<${ErrorNote} error=${error} />`
      }
      <div class="form-actions">
        <a class="button" href="#/inbox">Cancel</a>
        <button class="primary" type="submit" disabled=${busy || (kind === 'template' && !template)}>${busy ? 'Sending…' : 'Start conversation'}</button>
      </div>
    </form>
  </section>`;
}
