// A conversation as the console keeps it: the API's row, read the same way wherever it came from.
import { isMine } from './access.js';

const HANDLINGS = new Set(['bot', 'operator', 'needs_human']);
const digits = (phone) => phone.replace(/[\s\-().+]/g, '');

/**
 * The row with `handling` (bot | operator | needs_human) and `status` (open | closed). A row in the
 * older shape (an event stream not yet updated, say) gave the handling as `status`: that is moved
 * to `handling`, so merging it never turns an open conversation's status into "bot".
 */
export function normalizeConversation(row) {
  if (!row || typeof row !== 'object') return row;
  const c = { ...row };
  if (HANDLINGS.has(c.status)) {
    c.handling ??= c.status;
    delete c.status;
  }
  if (!c.handling && c.mode) c.handling = c.needs_human ? 'needs_human' : c.mode;
  return c;
}

/** `current` updated by a (possibly partial) row from an event or an answer. */
export const mergeConversation = (current, row) => ({ ...current, ...normalizeConversation(row) });

/**
 * Does the conversation belong in a list with these filters? The same rules as
 * GET /api/v1/conversations, for rows that arrive by the stream or from this page's own changes.
 */
export function matchesFilters(c, { queue, status, handling, phone }, me) {
  if (c.archived) return false;
  if (queue === 'mine' && !isMine(c, me)) return false;
  if (queue === 'unassigned' && c.assigned_to != null) return false;
  if (status && c.status && c.status !== status) return false;
  if (handling && c.handling !== handling) return false;
  return !phone || c.phone === digits(phone);
}

/** The assignee as people read it: "you", a name, an email, or the id. */
export function assigneeName(c, me) {
  if (c.assigned_to == null) return undefined;
  if (isMine(c, me)) return 'you';
  const a = c.assignee;
  return a?.full_name || a?.email || `user #${c.assigned_to}`;
}

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'];
