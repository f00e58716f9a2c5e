import { useEffect, useRef, useState } from 'preact/hooks';
import { canWrite } from './access.js';
import { api } from './api.js';
import { announce } from './changes.js';
import { ConversationControls } from './conversation-controls.js';
import { mergeConversation, normalizeConversation } from './conversation-model.js';
import { html } from './html.js';
import { follow } from './live.js';
import { readMarker } from './mark-read.js';
import { Composer } from './composer.js';
import { byMessageId, ErrorNote, fullTime, ModeBadge, NeedsHumanBadge, shortTime } from './ui.js';

const WINDOW_MS = 24 * 3600_000;

/** Adds or replaces messages by id (a delivery receipt arrives as the same message again). */
function mergeMessages(current, incoming) {
  const byId = new Map(current.map((m) => [m.id, m]));
  for (const m of incoming) byId.set(m.id, { ...byId.get(m.id), ...m });
  return [...byId.values()].sort(byMessageId);
}

/** The API records operators as `user:<id>` or `key:<name>`; the signed-in user is "you". */
function heldBy(operator, me) {
  if (me && operator === `user:${me.id}`) return 'you';
  return operator.startsWith('user:') ? `user #${operator.slice(5)}` : operator;
}

/** One conversation, live: its messages, who holds it, and the controls the signed-in user may use. */
export function Chat({ id, config, me }) {
  const [conversation, setConversation] = useState();
  const [messages, setMessages] = useState([]);
  const [loadError, setLoadError] = useState();
  const [actionError, setActionError] = useState();
  const [busy, setBusy] = useState(false);
  const bottom = useRef();
  // The mode the API just confirmed: Postgres records it a moment after the workflow has it, so a
  // read in between must not flip the buttons back.
  const confirmedMode = useRef();
  // The latest state, for the read marker (its callbacks outlive renders).
  const latest = useRef();
  latest.current = conversation;
  const marker = useRef();

  /** Takes the conversation as the API answered a change, and tells the inbox. */
  const apply = (row) => {
    const next = normalizeConversation(row);
    if (next.mode) confirmedMode.current = undefined;
    setConversation((current) => mergeConversation(current, next));
    announce(next);
  };

  // The conversation and its newest 100 messages from the plain API.
  const load = async () => {
    const { messages: newest, ...rest } = await api('GET', `/api/v1/conversations/${id}`);
    const confirmed = confirmedMode.current;
    if (confirmed && Date.now() < confirmed.until && rest.mode !== confirmed.mode)
      Object.assign(rest, { mode: confirmed.mode, needs_human: false, handling: confirmed.mode });
    const loaded = normalizeConversation(rest);
    setConversation(loaded);
    latest.current = loaded;
    setMessages((current) => mergeMessages(current, newest));
    setLoadError(undefined);
    if (loaded.unread_count > 0) marker.current?.want();
    return loaded;
  };

  useEffect(() => {
    // Opening the conversation (or reading it as messages arrive) marks it read, for those who may write to it.
    marker.current = readMarker(id, { apply, allowed: () => Boolean(latest.current) && canWrite(me, latest.current), onError: setActionError });
    const stopFollowing = follow(`/api/v1/conversations/stream?conversation_id=${encodeURIComponent(id)}`, {
      refresh: load,
      onError: setLoadError,
      onEvent: (type, data) => {
        // message: a new one; message_update: a delivery receipt (or the wamid) for one already shown.
        if ((type === 'message' || type === 'message_update') && data?.id) setMessages((current) => mergeMessages(current, [data]));
        if (type === 'message' && data?.direction === 'inbound') marker.current.want();
        if (type === 'conversation' && data) {
          setConversation((current) => current && { ...mergeConversation(current, data), id: current.id });
          if (data.unread_count > 0) marker.current.want();
        }
      },
    });
    return () => {
      stopFollowing();
      marker.current.stop();
    };
  }, [id]);

  const lastId = messages[messages.length - 1]?.id;
  useEffect(() => bottom.current?.scrollIntoView({ block: 'end' }), [lastId]);

  if (!conversation) {
    return html`<section class="chat"><${ErrorNote} error=${loadError} />${loadError ? null : html`<p class="muted pad">Loading…</p>`}</section>`;
  }

  const c = conversation;
  const operatorHolds = c.mode === 'operator';
  const writable = canWrite(me, c);
  /** Runs one action with the buttons disabled; its error is shown. True when it succeeded. */
  async function busyWith(work) {
    setBusy(true);
    setActionError(undefined);
    try {
      await work();
      return true;
    } catch (err) {
      setActionError(err);
      return false;
    } finally {
      setBusy(false);
    }
  }

  /** Posts an operator action; `mode` is who holds the chat once it succeeded (takeover, handback). */
  function act(path, body, mode) {
    return busyWith(async () => {
      await api('POST', path, body);
      if (mode) {
        // Either hand clears NeedsHuman: the operator has dealt with it.
        confirmedMode.current = { mode, until: Date.now() + 5000 };
        setConversation((current) => ({ ...current, mode, needs_human: false }));
      }
      // Done even if this read fails: the composer must not offer to send the message again. The
      // inbox hears the result (taking over an unassigned conversation assigns it, say).
      const fresh = await load().catch(setLoadError);
      if (fresh) announce(fresh);
    });
  }

  /** A lifecycle change (assign, close, reopen, tags, priority): the API answers the conversation. */
  function change(method, path, body) {
    return busyWith(async () => apply(await api(method, path, body)));
  }

  return html`<section
    class="chat"
    data-conversation-id=${c.id}
    data-mode=${c.mode}
    data-status=${c.status}
    data-assigned-to=${c.assigned_to ?? ''}
    data-unread=${c.unread_count ?? ''}
  >
    <header class="chat-header">
      <div>
        <h2>${c.contact_name ?? `+${c.phone}`}</h2>
        <div class="row-meta">
          <span class="muted">+${c.phone}</span>
          <${ModeBadge} mode=${c.mode} />
          <${NeedsHumanBadge} on=${c.needs_human} />
          ${operatorHolds && c.operator ? html`<span class="muted" data-operator=${c.operator}>held by ${heldBy(c.operator, me)}</span>` : null}
          <${WindowNote} lastInboundAt=${c.last_inbound_at} />
        </div>
      </div>
      <div class="chat-actions">
        <a class="button" href=${temporalLink(config, c.workflow_id)} target="_blank" rel="noopener" title="The chat's workflow in the Temporal Web UI">
          Workflow ↗
        </a>
        ${
          !writable
            ? null
            : operatorHolds
              ? html`<button class="primary" disabled=${busy} onClick=${() => act('/api/v1/handback', { phone: c.phone, number_id: c.number_id ?? 1 }, 'bot')}>
                  Hand back to bot
                </button>`
              : html`<button
                  class="primary"
                  disabled=${busy}
                  onClick=${() => act('/api/v1/takeover', { phone: c.phone, number_id: c.number_id ?? 1 }, 'operator')}
                >
                  Take over
                </button>`
        }
      </div>
    </header>
    <${ConversationControls} c=${c} me=${me} change=${change} busy=${busy} />
    <${ErrorNote} error=${actionError ?? loadError} onClose=${() => (setActionError(undefined), setLoadError(undefined))} />
    <ol class="messages">
      ${messages.map((m) => html`<${MessageBubble} key=${m.id} m=${m} />`)}
      <li ref=${bottom} class="end" aria-hidden="true"></li>
    </ol>
    ${
      writable
        ? html`<${Composer}
            enabled=${operatorHolds}
            send=${(message) => act('/api/v1/operator-message', { phone: c.phone, number_id: c.number_id ?? 1, message })}
          />`
        : html`<p class="read-only muted">${readOnlyReason(me, c)}</p>`
    }
  </section>`;
}

function readOnlyReason(me, c) {
  if (me?.role === 'sales')
    return c.assigned_to == null ? 'Assign this conversation to yourself to write to the customer.' : 'Assigned to someone else: you can read it only.';
  return `Read only: a ${me?.role ?? 'signed-in'} user cannot write to customers.`;
}

export const temporalLink = (config, workflowId) =>
  `${config.temporal_ui_url}/namespaces/${encodeURIComponent(config.namespace)}/workflows/${encodeURIComponent(workflowId)}`;

function WindowNote({ lastInboundAt }) {
  if (!lastInboundAt) return null;
  const closes = new Date(lastInboundAt).getTime() + WINDOW_MS;
  return closes > Date.now()
    ? html`<span class="muted" title="Free-form messages are allowed until then">24 h window open until ${shortTime(new Date(closes).toISOString())}</span>`
    : html`<span class="warn" title="Outside the 24 h window only templates can be sent">24 h window closed</span>`;
}

const STATUS_MARKS = { pending: '…', sent: '✓', delivered: '✓✓', read: '✓✓ read', failed: 'failed' };

function MessageBubble({ m }) {
  return html`<li class=${`message ${m.direction} from-${m.sender_type}`} data-sender=${m.sender_type} data-status=${m.delivery_status}>
    <div class="bubble">
      <div class="sender">${m.sender_type}${m.message_type !== 'text' ? ` · ${m.message_type}` : ''}</div>
      <div class="content">${m.content}</div>
      <div class="meta">
        <time title=${fullTime(m.timestamp)}>${shortTime(m.timestamp)}</time>
        ${m.direction === 'outbound' ? html`<span class=${`status ${m.delivery_status}`} title=${m.delivery_status}>${STATUS_MARKS[m.delivery_status] ?? m.delivery_status}</span>` : null}
      </div>
      ${m.delivery_status === 'failed' && m.error ? html`<div class="failure">${describeError(m.error)}</div>` : null}
    </div>
  </li>`;
}

const describeError = (error) => (typeof error === 'string' ? error : (error.message ?? error.title ?? JSON.stringify(error)));
