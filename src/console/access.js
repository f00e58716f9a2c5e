// Who may do what in the inbox (README, "Inbox"): the console offers only what the API allows.

// Operators and admins write to any conversation and assign it to anyone.
const MANAGERS = new Set(['operator', 'admin']);

const sameId = (a, b) => a != null && b != null && String(a) === String(b);

/** Is the conversation assigned to the signed-in user? */
export const isMine = (c, me) => sameId(c?.assigned_to, me?.id);

/** May `me` start conversations at all (viewers and marketers only read the inbox)? */
export const mayWriteAny = (me) => MANAGERS.has(me?.role) || (me?.role === 'sales' && me.id != null);

/** May `me` message, take over, close, reopen, tag, prioritise or mark read this conversation? */
export const canWrite = (me, c) => MANAGERS.has(me?.role) || (me?.role === 'sales' && isMine(c, me));

/** Operators and admins assign to anyone (the user list itself is an admin's: see users.js). */
export const canAssignAnyone = (me) => MANAGERS.has(me?.role);

/** "Assign to me": operators and admins take any conversation, sales only an unassigned one. */
export function canClaim(me, c) {
  if (me?.id == null || isMine(c, me)) return false;
  return canAssignAnyone(me) || (me.role === 'sales' && c.assigned_to == null);
}

/** "Unassign": operators and admins for anyone, sales only themselves. */
export const canUnassign = (me, c) => c.assigned_to != null && (canAssignAnyone(me) || (me?.role === 'sales' && isMine(c, me)));
