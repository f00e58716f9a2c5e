// Small pieces every view uses: badges, error notes, times.
import { html } from './html.js';

export function ModeBadge({ mode }) {
  return html`<span class=${`badge mode-${mode}`} data-mode=${mode}>${mode === 'operator' ? 'Operator' : 'Bot'}</span>`;
}

export function NeedsHumanBadge({ on }) {
  return on ? html`<span class="badge needs-human" title="The bot asked for a human">Needs human</span>` : null;
}

export function ErrorNote({ error, onClose }) {
  if (!error) return null;
  return html`<div class="error-note" role="alert">
    <span>${error.message}${error.status ? html` <small>(${error.status}${error.code ? ` ${error.code}` : ''})</small>` : ''}</span>
    ${onClose ? html`<button class="link" onClick=${onClose} aria-label="Dismiss">×</button>` : null}
  </div>`;
}

const sameDay = (a, b) => a.toDateString() === b.toDateString();

/** "14:05" today, "Mon 14:05" this week, else the date. */
export function shortTime(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  const now = new Date();
  const hm = at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  if (sameDay(at, now)) return hm;
  if (now - at < 6 * 86_400_000) return `${at.toLocaleDateString([], { weekday: 'short' })} ${hm}`;
  return at.toLocaleDateString();
}

export const fullTime = (iso) => (iso ? new Date(iso).toLocaleString() : '');

/** Message ids are 64-bit integers as strings: compare by length, then digits. */
export const byMessageId = (a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
