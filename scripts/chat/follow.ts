import { readSse, type SseEvent } from './sse';

/** The API did not answer at all. */
export class ApiUnreachable extends Error {}

/** The API answered, with an error. */
export class ApiRefused extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Opens GET /api/v1/conversations/stream for one phone, resuming after sinceId when given. */
export async function openChatStream(
  api: string,
  key: string,
  phone: string,
  sinceId: string | undefined,
  signal: AbortSignal,
): Promise<ReadableStream<Uint8Array>> {
  let res: Response;
  try {
    res = await fetch(`${api}/api/v1/conversations/stream?phone=${phone}`, {
      headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(sinceId ? { 'last-event-id': sinceId } : {}) },
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw err;
    throw new ApiUnreachable(err instanceof Error ? err.message : String(err));
  }
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiRefused(res.status, body?.error ? `${body.error.code}: ${body.error.message}` : res.statusText);
  }
  return res.body;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/**
 * Reads the stream until `signal` aborts; when the connection drops it reconnects with the last
 * event id, so nothing said meanwhile is missed.
 */
export async function followStream(opts: {
  first: ReadableStream<Uint8Array>;
  reopen: (sinceId: string | undefined) => Promise<ReadableStream<Uint8Array>>;
  onEvent: (e: SseEvent) => void;
  onNotice: (line: string) => void;
  signal: AbortSignal;
}): Promise<void> {
  let body = opts.first;
  let lastId: string | undefined;
  for (;;) {
    try {
      for await (const e of readSse(body)) {
        if (e.id) lastId = e.id;
        opts.onEvent(e);
      }
    } catch {
      // A dropped connection; handled below like the end of the stream.
    }
    if (opts.signal.aborted) return;
    opts.onNotice('(lost the connection to the API; reconnecting...)');
    for (let delay = 1000; ; delay = Math.min(delay * 2, 10_000)) {
      await sleep(delay, opts.signal);
      if (opts.signal.aborted) return;
      try {
        body = await opts.reopen(lastId);
        opts.onNotice('(reconnected)');
        break;
      } catch (err) {
        if (opts.signal.aborted) return;
        if (err instanceof ApiRefused) opts.onNotice(`(the API refused the stream: ${err.status} ${err.message})`);
      }
    }
  }
}
