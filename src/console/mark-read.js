// Marking an open conversation read (POST /api/v1/conversations/:id/read): when it is opened with
// unread messages, and again when a message arrives while it is on screen. One request at a time;
// asks made meanwhile are folded into one more.
import { api } from './api.js';

/**
 * `apply(conversation)` takes the API's answer; `allowed()` says whether the signed-in user may
 * write to it (a viewer's opening marks nothing). Returns {want, stop}.
 */
export function readMarker(id, { apply, allowed, onError }) {
  let inFlight = false;
  let again = false;
  let waiting = false; // asked while the tab was hidden: marked when it shows again
  let stopped = false;

  function want() {
    if (stopped || !allowed()) return;
    if (document.hidden) return void (waiting = true);
    if (inFlight) return void (again = true);
    inFlight = true;
    api('POST', `/api/v1/conversations/${encodeURIComponent(id)}/read`)
      // The API answers {conversation_id, unread_count, last_read_at} (the docs say the conversation): either is applied.
      .then((answer) => stopped || apply(answer?.id ? answer : { id, unread_count: answer?.unread_count ?? 0, last_read_at: answer?.last_read_at }))
      .catch((err) => stopped || onError(err))
      .finally(() => {
        inFlight = false;
        if (again) {
          again = false;
          want();
        }
      });
  }

  const onVisible = () => {
    if (!document.hidden && waiting) {
      waiting = false;
      want();
    }
  };
  document.addEventListener('visibilitychange', onVisible);
  return {
    want,
    stop() {
      stopped = true;
      document.removeEventListener('visibilitychange', onVisible);
    },
  };
}
