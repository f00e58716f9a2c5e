import { useEffect, useRef, useState } from 'preact/hooks';
import { mayWriteAny } from './access.js';
import { api } from './api.js';
import { onAnnounced } from './changes.js';
import { assigneeName, matchesFilters, mergeConversation, normalizeConversation } from './conversation-model.js';
import { html } from './html.js';
import { follow } from './live.js';
import { ErrorNote, ModeBadge, NeedsHumanBadge, shortTime } from './ui.js';

const QUEUES = [
  ['all', 'All'],
  ['mine', 'Mine'],
  ['unassigned', 'Unassigned'],
];
const STATUSES = [
  ['open', 'Open'],
  ['closed', 'Closed'],
  ['', 'Open and closed'],
];
const HANDLINGS = [
  ['', 'Any handling'],
  ['needs_human', 'Needs human'],
  ['operator', 'Operator'],
  ['bot', 'Bot'],
];

const activity = (c) => c.last_message_at ?? c.created_at ?? '';

/** The API's query for the filters: `status` is open or closed, `handling` who answers. */
function queryOf({ queue, status, handling, phone }) {
  const params = { limit: '50' };
  if (queue !== 'all') params.queue = queue;
  if (status) params.status = status;
  if (handling) params.handling = handling;
  if (phone) params.phone = phone;
  return new URLSearchParams(params).toString();
}

/**
 * The page with one conversation as the stream (or this page) reports it: updated in place, added,
 * or removed when it no longer matches the filters, newest first.
 */
function withConversation(page, item, filters, me) {
  const others = page.conversations.filter((c) => c.id !== item.id);
  const had = others.length < page.conversations.length;
  const merged = mergeConversation(
    page.conversations.find((c) => c.id === item.id),
    item,
  );
  if (!matchesFilters(merged, filters, me)) return had ? { ...page, conversations: others, total: page.total - 1 } : page;
  const conversations = [merged, ...others].sort((a, b) => activity(b).localeCompare(activity(a))).slice(0, page.limit);
  return { ...page, conversations, total: page.total + (had ? 0 : 1) };
}

/** Conversations, newest activity first: the queues, filters, and per row its state, unread count, tags and assignee. */
export function Inbox({ selectedId, me }) {
  const [queue, setQueue] = useState('all');
  const [status, setStatus] = useState('open');
  const [handling, setHandling] = useState('');
  const [phone, setPhone] = useState('');
  const [phoneDraft, setPhoneDraft] = useState('');
  const [page, setPage] = useState();
  const [error, setError] = useState();

  // The latest filters, for refreshes and events started by the stream or the poll.
  const filters = useRef();
  filters.current = { queue, status, handling, phone };
  const query = useRef('');
  query.current = queryOf(filters.current);

  // The list as the current filters select it; a slower answer to older filters is dropped.
  const load = async () => {
    const asked = query.current;
    const next = await api('GET', `/api/v1/conversations?${asked}`);
    if (asked !== query.current) return;
    setPage({ ...next, conversations: next.conversations.map(normalizeConversation).filter((c) => matchesFilters(c, filters.current, me)) });
    setError(undefined);
  };

  // One row changed: from the stream, or from this page (assign, close, read, a new conversation).
  const update = (item) => {
    if (item?.id) setPage((current) => current && withConversation(current, normalizeConversation(item), filters.current, me));
  };

  useEffect(() => onAnnounced(update), []);
  useEffect(
    () =>
      follow('/api/v1/conversations/stream', {
        refresh: load,
        onError: setError,
        // The event carries the conversation as the list shows it: no request per change.
        onEvent: (type, item) => type === 'conversation' && update(item),
      }),
    [],
  );

  // A filter change reloads at once rather than at the next event or poll.
  useEffect(() => {
    load().catch(setError);
  }, [queue, status, handling, phone]);

  const filtered = Boolean(status || handling || phone || queue !== 'all');
  return html`<section class="inbox">
    <form
      class="filters"
      onSubmit=${(e) => {
        e.preventDefault();
        setPhone(phoneDraft.trim());
      }}
    >
      <div class="inbox-head">
        <div class="segmented" role="group" aria-label="Queue">
          ${QUEUES.map(
            ([value, label]) =>
              html`<button
                type="button"
                name="queue"
                value=${value}
                class=${queue === value ? 'on' : ''}
                aria-pressed=${queue === value}
                onClick=${() => setQueue(value)}
              >
                ${label}
              </button>`,
          )}
        </div>
        ${mayWriteAny(me) ? html`<a class="button primary new-conversation-link" href="#/inbox/new">New conversation</a>` : null}
      </div>
      <select name="status" aria-label="Status" value=${status} onChange=${(e) => setStatus(e.currentTarget.value)}>
        ${STATUSES.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
      <select name="handling" aria-label="Handling" value=${handling} onChange=${(e) => setHandling(e.currentTarget.value)}>
        ${HANDLINGS.map(([value, label]) => html`<option value=${value}>${label}</option>`)}
      </select>
      <input type="search" name="phone" placeholder="Phone, e.g. +15550001111" value=${phoneDraft} onInput=${(e) => setPhoneDraft(e.currentTarget.value)} />
      <button type="submit">Find</button>
      ${phone ? html`<button type="button" class="link" onClick=${() => (setPhone(''), setPhoneDraft(''))}>clear</button>` : null}
    </form>
    <${ErrorNote} error=${error} />
    ${
      page === undefined
        ? html`<p class="muted pad">Loading…</p>`
        : page.conversations.length === 0
          ? html`<p class="muted pad">No conversations${filtered ? ' match these filters' : ' yet'}.</p>`
          : html`<ul class="conversation-list">
              ${page.conversations.map((c) => html`<${InboxRow} key=${c.id} c=${c} me=${me} selected=${c.id === selectedId} />`)}
            </ul>`
    }
    ${page && page.total > page.conversations.length ? html`<p class="muted pad small">Showing ${page.conversations.length} of ${page.total}.</p>` : null}
  </section>`;
}

// The list gives the last message as {content, sender_type, timestamp} (older APIs: its text).
const lastMessageOf = (c) => (typeof c.last_message === 'string' ? { content: c.last_message } : c.last_message);

function InboxRow({ c, me, selected }) {
  const last = lastMessageOf(c);
  const unread = c.unread_count ?? 0;
  const assignee = assigneeName(c, me);
  return html`<li>
    <a
      href=${`#/inbox/${c.id}`}
      class=${`conversation-row${selected ? ' selected' : ''}${c.needs_human ? ' attention' : ''}${unread > 0 ? ' unread' : ''}`}
      data-phone=${c.phone}
      data-mode=${c.mode}
      data-needs-human=${String(c.needs_human)}
      data-status=${c.status ?? ''}
      data-handling=${c.handling ?? ''}
      data-unread=${String(unread)}
      data-assigned-to=${c.assigned_to ?? ''}
      data-priority=${c.priority ?? ''}
    >
      <div class="row-top">
        <strong>${c.contact_name ?? `+${c.phone}`}</strong>
        <span class="row-when">
          ${unread > 0 ? html`<span class="unread-count" title=${`${unread} unread`}>${unread}</span>` : null}
          <time title=${c.last_message_at ?? ''}>${shortTime(c.last_message_at)}</time>
        </span>
      </div>
      <div class="row-meta">
        ${c.contact_name ? html`<span class="muted">+${c.phone}</span>` : null}
        <${ModeBadge} mode=${c.mode} />
        <${NeedsHumanBadge} on=${c.needs_human} />
        ${c.status === 'closed' ? html`<span class="badge lifecycle-closed">Closed</span>` : null}
        ${c.priority && c.priority !== 'normal' ? html`<span class=${`badge priority-${c.priority}`}>${c.priority}</span>` : null}
        <span class="row-assignee muted" title="Assigned to">${assignee ? `→ ${assignee}` : 'unassigned'}</span>
        ${
          // Several numbers (issue 13): which of the business's numbers the customer wrote to; the default number goes unlabelled.
          c.business_number && c.business_number.id !== 1
            ? html`<span class="badge business-number" title="Business number"
                >via ${c.business_number.name ?? c.business_number.display_number ?? `number ${c.business_number.id}`}</span
              >`
            : null
        }
      </div>
      <div class="last-message">
        ${
          last
            ? html`${last.sender_type && last.sender_type !== 'user' ? html`<span class="sender-prefix">${last.sender_type}: </span>` : null}${last.content}`
            : html`<span class="muted">no messages</span>`
        }
      </div>
      ${c.tags?.length ? html`<div class="row-tags">${c.tags.map((t) => html`<span class="tag" data-tag=${t}>${t}</span>`)}</div>` : null}
    </a>
  </li>`;
}
