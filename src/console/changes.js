// Changes this page made itself (assign, close, tags, read, a new conversation), told to every view
// at once: the list shows them without waiting for the event stream, which may not carry them.
const listeners = new Set();

/** Tells every listener the conversation as the API answered it after a change. */
export function announce(conversation) {
  for (const listener of listeners) listener(conversation);
}

export function onAnnounced(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
