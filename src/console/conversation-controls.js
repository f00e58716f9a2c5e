import { useEffect, useState } from 'preact/hooks';
import { canAssignAnyone, canClaim, canUnassign, canWrite } from './access.js';
import { assigneeName, PRIORITIES } from './conversation-model.js';
import { html } from './html.js';
import { TagEditor } from './tag-editor.js';
import { assignableUsers } from './users.js';

const capital = (s) => s[0].toUpperCase() + s.slice(1);

/**
 * A conversation's lifecycle (status, assignee, priority, tags) with the controls `me` may use;
 * a viewer sees the values only. `change(method, path, body)` calls the API and takes the
 * conversation it answers (a promise of success).
 */
export function ConversationControls({ c, me, change, busy }) {
  const writable = canWrite(me, c);
  const base = `/api/v1/conversations/${c.id}`;
  const closed = c.status === 'closed';
  const priority = c.priority ?? 'normal';

  return html`<div class="conversation-controls" data-writable=${String(writable)}>
    <div class="control">
      <span class=${`badge lifecycle-${c.status ?? 'open'}`}>${closed ? 'Closed' : 'Open'}</span>
      ${
        writable
          ? closed
            ? html`<button disabled=${busy} onClick=${() => change('POST', `${base}/reopen`)}>Reopen</button>`
            : html`<button disabled=${busy} onClick=${() => change('POST', `${base}/close`)} title="Ends the human's turn: the bot answers again">
                Close
              </button>`
          : null
      }
    </div>
    <${Assignment} c=${c} me=${me} busy=${busy} assign=${(userId) => change('POST', `${base}/assign`, { assigned_to: userId })} />
    <div class="control">
      ${
        writable
          ? html`<label
              >Priority
              <select name="priority" value=${priority} disabled=${busy} onChange=${(e) => change('PUT', base, { priority: e.currentTarget.value })}>
                ${PRIORITIES.map((p) => html`<option value=${p}>${capital(p)}</option>`)}
              </select></label
            >`
          : html`<span class=${`badge priority-${priority}`} title="Priority">${priority}</span>`
      }
    </div>
    <${TagEditor} tags=${c.tags ?? []} busy=${busy} save=${writable ? (tags) => change('PUT', base, { tags }) : undefined} />
  </div>`;
}

/** Who holds the conversation; "Assign to me", "Unassign", and for admins a pick of users. */
function Assignment({ c, me, busy, assign }) {
  const [users, setUsers] = useState(null);
  useEffect(() => {
    if (canAssignAnyone(me)) assignableUsers(me).then(setUsers, () => setUsers(null));
  }, [me?.id]);

  const current = c.assigned_to == null ? '' : String(c.assigned_to);
  const listed = users && (current === '' || users.some((u) => String(u.id) === current));
  return html`<div class="control assignment">
    <span class="muted">Assigned to</span>
    <strong class="assignee" data-assigned-to=${current}>${assigneeName(c, me) ?? 'nobody'}</strong>
    ${canClaim(me, c) ? html`<button disabled=${busy} onClick=${() => assign(me.id)}>Assign to me</button>` : null}
    ${canUnassign(me, c) ? html`<button disabled=${busy} onClick=${() => assign(null)}>Unassign</button>` : null}
    ${
      users && canAssignAnyone(me)
        ? html`<select
            name="assignee"
            aria-label="Assign to"
            value=${current}
            disabled=${busy}
            onChange=${(e) => e.currentTarget.value !== current && assign(e.currentTarget.value ? Number(e.currentTarget.value) : null)}
          >
            <option value="">${current ? 'Nobody' : 'Assign to…'}</option>
            ${listed ? null : html`<option value=${current}>${assigneeName(c, me)}</option>`}
            ${users.map((u) => html`<option value=${String(u.id)}>${u.full_name || u.email}${String(u.id) === String(me.id) ? ' (you)' : ''}</option>`)}
          </select>`
        : null
    }
  </div>`;
}
