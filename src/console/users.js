// The people a conversation can be assigned to. GET /api/v1/users is an admin's route: anyone else
// (a 403) gets no list, and assigns only themselves ("Assign to me") or nobody ("Unassign").
import { api, ApiError } from './api.js';

// Viewers and marketers hold no conversations (the API answers 400 for them).
const ASSIGNABLE = new Set(['sales', 'operator', 'admin']);

let cached; // { userId, list: Promise }

/** Active users who may hold conversations, or null when `me` may not list users. Asked once per signed-in user. */
export function assignableUsers(me) {
  if (cached?.userId !== me?.id) {
    const entry = { userId: me?.id };
    entry.list = api('GET', '/api/v1/users?is_active=true&limit=200')
      .then(({ users }) => users.filter((u) => ASSIGNABLE.has(u.role)))
      .catch((err) => {
        if (err instanceof ApiError && err.status === 403) return null;
        if (cached === entry) cached = undefined; // e.g. the network: ask again next time
        throw err;
      });
    cached = entry;
  }
  return cached.list;
}
