import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api.js';
import { html } from './html.js';
import { follow } from './live.js';
import { ErrorNote, ModeBadge, NeedsHumanBadge, shortTime } from './ui.js';

const STATUSES = [
  ['', 'All'],
  ['needs_human', 'Needs human'],
  ['operator', 'Operator'],
  ['bot', 'Bot'],
];

const digits = (phone) => phone.replace(/[\s\-().+]/g, '');
const activity = (c) => c.last_message_at ?? c.created_at ?? '';

/**
 * The page with one conversation as the stream reports it: updated in place, added, or removed
 * when it no longer matches the filters (the same rules as GET /api/v1/conversations), newest first.
 */
function withConversation(page, item, { status, phone }) {
  const others = page.conversations.filter((c) => c.id !== item.id);
  const had = others.length < page.conversations.length;
  const matches = (!status || item.status === status) && (!phone || item.phone === digits(phone));
  if (!matches) return had ? { ...page, conversations: others, total: page.total - 1 } : page;
  const merged = { ...page.conversations.find((c) => c.id === item.id), ...item };
  const conversations = [merged, ...others].sort((a, b) => activity(b).localeCompare(activity(a))).slice(0, page.limit);
  return { ...page, conversations, total: page.total + (had ? 0 : 1) };
}

/** Conversations, newest activity first, with their mode, NeedsHuman flag and last message. */
export function Inbox({ selectedId }) {
  const [status, setStatus] = useState('');
  const [phone, setPhone] = useState('');
  const [phoneDraft, setPhoneDraft] = useState('');
  const [page, setPage] = useState();
  const [error, setError] = useState();

  // The latest filters, for refreshes and events started by the stream or the poll.
  const filters = useRef();
  filters.current = { status, phone };
  const query = useRef('');
  query.current = new URLSearchParams({ limit: '50', ...(status ? { status } : {}), ...(phone ? { phone } : {}) }).toString();

  // The list as the current filters select it; a slower answer to older filters is dropped.
  const load = async () => {
    const asked = query.current;
    const next = await api('GET', `/api/v1/conversations?${asked}`);
    if (asked !== query.current) return;
    setPage(next);
    setError(undefined);
  };

  useEffect(
    () =>
      follow('/api/v1/conversations/stream', {
        refresh: load,
        onError: setError,
        // The event carries the conversation as the list shows it: no request per change.
        onEvent: (type, item) => {
          if (type === 'conversation' && item?.id) setPage((current) => current && withConversation(current, item, filters.current));
        },
      }),
    [],
  );

  // A filter change reloads at once rather than at the next event or poll.
  useEffect(() => {
    load().catch(setError);
  }, [status, phone]);

  return html`<section class="inbox">
    <form
      class="filters"
      onSubmit=${(e) => {
        e.preventDefault();
        setPhone(phoneDraft.trim());
      }}
    >
      <div class="segmented" role="group" aria-label="Status">
        ${STATUSES.map(
          ([value, label]) =>
            html`<button type="button" class=${status === value ? 'on' : ''} aria-pressed=${status === value} onClick=${() => setStatus(value)}>${label}</button>`,
        )}
      </div>
      <input type="search" name="phone" placeholder="Phone, e.g. +15550001111" value=${phoneDraft} onInput=${(e) => setPhoneDraft(e.currentTarget.value)} />
      <button type="submit">Find</button>
      ${phone ? html`<button type="button" class="link" onClick=${() => (setPhone(''), setPhoneDraft(''))}>clear</button>` : null}
    </form>
    <${ErrorNote} error=${error} />
    ${page === undefined
      ? html`<p class="muted pad">Loading…</p>`
      : page.conversations.length === 0
        ? html`<p class="muted pad">No conversations${status || phone ? ' match these filters' : ' yet'}.</p>`
        : html`<ul class="conversation-list">
            ${page.conversations.map((c) => html`<${InboxRow} key=${c.id} c=${c} selected=${c.id === selectedId} />`)}
          </ul>`}
    ${page && page.total > page.conversations.length ? html`<p class="muted pad small">Showing ${page.conversations.length} of ${page.total}.</p>` : null}
  </section>`;
}

// The list gives the last message as {content, sender_type, timestamp} (older APIs: its text).
const lastMessageOf = (c) => (typeof c.last_message === 'string' ? { content: c.last_message } : c.last_message);

function InboxRow({ c, selected }) {
  const last = lastMessageOf(c);
  return html`<li>
    <a
      href=${`#/inbox/${c.id}`}
      class=${`conversation-row${selected ? ' selected' : ''}${c.needs_human ? ' attention' : ''}`}
      data-phone=${c.phone}
      data-mode=${c.mode}
      data-needs-human=${String(c.needs_human)}
    >
      <div class="row-top">
        <strong>${c.contact_name ?? `+${c.phone}`}</strong>
        <time title=${c.last_message_at ?? ''}>${shortTime(c.last_message_at)}</time>
      </div>
      <div class="row-meta">
        ${c.contact_name ? html`<span class="muted">+${c.phone}</span>` : null}
        <${ModeBadge} mode=${c.mode} />
        <${NeedsHumanBadge} on=${c.needs_human} />
      </div>
      <div class="last-message">
        ${last
          ? html`${last.sender_type && last.sender_type !== 'user' ? html`<span class="sender-prefix">${last.sender_type}: </span>` : null}${last.content}`
          : html`<span class="muted">no messages</span>`}
      </div>
    </a>
  </li>`;
}
