import { useState } from 'preact/hooks';
import { html } from './html.js';

/** The operator's message box: usable while the operator holds the chat. Enter sends, Shift+Enter breaks the line. */
export function Composer({ enabled, send }) {
  const [text, setText] = useState('');
  const [sending, setSending] = useState(false);

  async function submit(event) {
    event?.preventDefault();
    if (!text.trim() || sending) return;
    setSending(true);
    // The text stays when the send fails (e.g. 409 outside the 24 h window), so nothing is lost.
    if (await send(text)) setText('');
    setSending(false);
  }

  return html`<form class="composer" onSubmit=${submit}>
    <textarea
      name="message"
      rows="2"
      maxlength="4096"
      placeholder=${enabled ? 'Write to the customer…' : 'Take over to write to the customer'}
      disabled=${!enabled || sending}
      value=${text}
      onInput=${(e) => setText(e.currentTarget.value)}
      onKeyDown=${(e) => {
        if (e.key === 'Enter' && !e.shiftKey) void submit(e);
      }}
    ></textarea>
    <button class="primary" type="submit" disabled=${!enabled || sending || !text.trim()}>${sending ? 'Sending…' : 'Send'}</button>
  </form>`;
}
