// Live updates: the API's server-sent event stream when it has one, polling when it does not.
// EventSource cannot send an Authorization header, so the stream is read through fetch().
import { authorizedFetch } from './api.js';

const POLL_MS = 2000;
const MAX_RETRY_MS = 15000;

/**
 * Follows `streamPath` (e.g. /api/v1/conversations/stream?conversation_id=...). `onEvent(type, data)`
 * gets each event; `refresh()` reloads the view from the plain API: when the stream opens or comes
 * back (to cover the gap), and every two seconds as the poll when the API answers 404 (no stream).
 * `onError(err)` hears failed refreshes. Returns a function that stops following.
 */
export function follow(streamPath, { onEvent, refresh, onError = () => undefined }) {
  let stopped = false;
  let timer;
  let controller;
  let lastEventId;

  const pause = (ms) => new Promise((resolve) => (timer = setTimeout(resolve, ms)));
  const reload = async () => {
    try {
      await refresh();
      return 0;
    } catch (err) {
      onError(err);
      return (err.retryAfterSeconds ?? 0) * 1000;
    }
  };

  async function poll() {
    while (!stopped) {
      // A hidden tab does not poll: the API counts every request against the caller's rate limit.
      const backOff = document.hidden ? 0 : await reload();
      await pause(Math.max(POLL_MS, backOff));
    }
  }

  async function stream() {
    let failures = 0;
    let retryAfterMs = 0;
    while (!stopped) {
      controller = new AbortController();
      try {
        const headers = { accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
        const res = await authorizedFetch(streamPath, { headers, signal: controller.signal });
        const isStream = res.ok && (res.headers.get('content-type') ?? '').startsWith('text/event-stream');
        if (!isStream) void res.body?.cancel();
        // No stream at this API (404, or an answer that is no stream): poll instead.
        if (res.status === 404 || (res.ok && !isStream)) return poll();
        if (!res.ok) {
          // e.g. 429 when the API process holds as many streams as it takes: try again later.
          failures += 1;
          retryAfterMs = (Number(res.headers.get('retry-after')) || 0) * 1000;
        } else {
          failures = 0;
          await reload();
          await readEvents(res.body, (event) => {
            if (event.id) lastEventId = event.id;
            onEvent(event.type, event.data);
          });
        }
      } catch {
        // A dropped connection (or a failed refresh of the session, which ends the view anyway).
        if (stopped) return;
        failures += 1;
      }
      if (stopped) return;
      // The stream ended or failed: catch up from the plain API, then reconnect (resuming by id).
      await reload();
      await pause(Math.max(Math.min(1000 * 2 ** failures, MAX_RETRY_MS), retryAfterMs));
      retryAfterMs = 0;
    }
  }

  void stream();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
}

/** Reads a text/event-stream body, calling `emit({type, data, id})` per event (data JSON-parsed). */
async function readEvents(body, emit) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = parseEvent(block);
      if (event) emit(event);
    }
  }
}

function parseEvent(block) {
  let type = 'message';
  let id;
  const data = [];
  for (const line of block.split('\n')) {
    if (!line || line.startsWith(':')) continue; // comments keep the connection alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') type = value;
    else if (field === 'data') data.push(value);
    else if (field === 'id') id = value;
  }
  if (!data.length) return undefined;
  const text = data.join('\n');
  try {
    return { type, id, data: JSON.parse(text) };
  } catch {
    return { type, id, data: text };
  }
}
