// The people a conversation can be assigned to. GET /api/v1/users is an admin's route: anyone else
// (a 403) gets no list, and assigns only themselves ("Assign to me") or nobody ("Unassign").
import { api, ApiError } from './api.js';

// Viewers and marketers hold no conversations (the API answers 400 for them).
const ASSIGNABLE = new Set(['sales', 'operator', 'admin']);

// Users who were refused the list: not asked again while the page lives.
const refused = new Set();

/** Active users who may hold conversations (asked afresh each time), or null when `me` may not list users. */
export async function assignableUsers(me) {
  if (refused.has(me?.id)) return null;
  try {
    const { users } = await api('GET', '/api/v1/users?is_active=true&limit=200');
    return users.filter((u) => ASSIGNABLE.has(u.role));
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 403)) throw err;
    refused.add(me?.id);
    return null;
  }
}
