import type { Request, Response, Router } from 'express';
import { z } from 'zod';
import type { Message } from '../../db/schema';
import { idsOf, type WorkflowIds } from '../../temporal/workflow-ids';
import { ConversationStreamHub, type ConversationSummary, type StreamEvent, type StreamHubOptions, type StreamSink } from '../conversation-stream-hub';
import { conversationView } from '../conversation-view';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { phoneField } from '../phone';
import { READ, route } from '../route-doc';

const messageId = z.string().regex(/^\d{1,18}$/, 'must be a message id');

const StreamQuery = z.object({
  phone: phoneField.optional().describe("Follow this WhatsApp user's conversation (it need not exist yet)"),
  conversation_id: z.uuid().optional().describe('Follow this conversation'),
  since_id: messageId.optional().describe('Also send the messages after this message id (a resuming client: the Last-Event-ID header does the same)'),
});

const DESCRIPTION = `Server-Sent Events (text/event-stream). Read it with a streaming fetch: it needs the Authorization header, which EventSource cannot send.

With \`phone\` or \`conversation_id\`:
- \`event: conversation\` once at the start (or when the conversation first appears, for a phone that has not written yet), then whenever its mode, needs_human, operator, status, assignee, tags or priority changes (takeover, handback, handoff, close, assign …). Data: the conversation as GET /api/v1/conversations lists it.
- \`event: message\` with \`id: <message id>\` for every message recorded after the stream started, or after \`since_id\` / \`Last-Event-ID\`. Data: the message as GET /api/v1/conversations/{id}/messages returns it. Ids increase, except that a message committed late can follow one with a larger id: keep messages by id.
- \`event: message_update\` (no id) when a message already sent on this stream changes delivery status or gets its wamid (pending → sent → delivered → read, or failed). Data: the whole message again.

Without a filter (an inbox): \`event: conversation\` for every conversation that changes from now on (a message, its handling, its inbox state, its unread count).

A comment line (\`: heartbeat\`) every 15 s keeps proxies from closing the stream. Changes reach the stream within about half a second (the API polls Postgres). Beyond the open-stream limits (per caller, and per API process) it answers 429 with Retry-After; a closed stream frees its place at once.`;

const MAX_BUFFERED = 1 << 20;
const RETRY_AFTER_SECONDS = 5;

/** One message as every API answer shows it: GET /conversations/:id, /:id/messages and the stream. */
export function streamMessageView(m: Message) {
  return {
    id: m.id,
    conversation_id: m.conversation_id,
    direction: m.direction,
    sender_type: m.sender_type,
    wamid: m.wamid,
    message_type: m.message_type,
    content: m.content,
    media: m.media ?? null,
    metadata: m.metadata ?? null,
    delivery_status: m.delivery_status,
    status_updated_at: m.status_updated_at,
    error: m.error ?? null,
    timestamp: m.created_at,
  };
}

/** GET /api/v1/conversations's item. */
export function streamConversationView(c: ConversationSummary, ids: WorkflowIds) {
  const { message_count, ...rest } = c;
  return { ...conversationView(rest, ids), message_count: Number(message_count) };
}

function format(e: StreamEvent, ids: WorkflowIds): string {
  switch (e.kind) {
    case 'message':
      return `id: ${e.message.id}\nevent: message\ndata: ${JSON.stringify(streamMessageView(e.message))}\n\n`;
    case 'message_update':
      return `event: message_update\ndata: ${JSON.stringify(streamMessageView(e.message))}\n\n`;
    case 'conversation':
      return `event: conversation\ndata: ${JSON.stringify(streamConversationView(e.conversation, ids))}\n\n`;
  }
}

/** Writes events to the response; the headers go out with the first write. */
function sseSink(res: Response, ids: WorkflowIds): StreamSink & { start(): void } {
  const start = () => {
    if (res.headersSent) return;
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    // Proxies such as nginx would otherwise hold events back in their buffers.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(`retry: 3000\n\n`);
  };
  // A client that stops reading is cut off rather than buffered without end; it resumes with Last-Event-ID.
  const write = (text: string) => {
    if (res.writableEnded || res.destroyed) return false;
    start();
    res.write(text);
    return res.writableLength <= MAX_BUFFERED;
  };
  return {
    start,
    send: (events) => events.length === 0 || write(events.map((e) => format(e, ids)).join('')),
    heartbeat: () => write(': heartbeat\n\n'),
    end: () => {
      if (res.writableEnded) return;
      start();
      res.end();
    },
  };
}

/** One API key or one user, however many tokens or tabs they use (as the rate limit counts them). */
const callerOf = (req: Request) => (req.principal ? `${req.principal.kind}:${req.principal.userId ?? req.principal.label}` : undefined);

function resumeFrom(req: Request, sinceId: string | undefined): string | undefined {
  if (sinceId) return sinceId;
  const header = req.get('last-event-id')?.trim();
  if (!header) return undefined;
  const parsed = messageId.safeParse(header);
  if (!parsed.success) throw new HttpError('VALIDATION_ERROR', 'Last-Event-ID: must be a message id');
  return parsed.data;
}

/** Mounts GET /stream on the conversations router (before /:id, which would take it for an id). */
export function mountConversationStream(router: Router, deps: Pick<AppDeps, 'db' | 'log' | 'ids'>, opts?: StreamHubOptions): ConversationStreamHub {
  const hub = new ConversationStreamHub(deps.db, deps.log, opts);
  const ids = idsOf(deps);
  router.get(
    '/stream',
    route(
      {
        summary: 'Live events of one conversation, or of all (Server-Sent Events)',
        description: DESCRIPTION,
        access: READ,
        query: StreamQuery,
        responses: { 200: { description: 'An event stream that stays open until the client leaves', contentType: 'text/event-stream' } },
        errors: ['NOT_FOUND'],
      },
      async ({ req, res, query: q }) => {
        if (q.phone && q.conversation_id) throw new HttpError('VALIDATION_ERROR', 'Give phone or conversation_id, not both');
        const since = resumeFrom(req, q.since_id);
        const sink = sseSink(res, ids);
        let close: (() => void) | undefined;
        let gone = false;
        res.once('close', () => {
          gone = true;
          close?.();
        });
        try {
          const filter = q.conversation_id ? { conversationId: q.conversation_id } : q.phone ? { waId: q.phone } : { inbox: true as const };
          close = await hub.open(filter, sink, since, callerOf(req));
        } catch (err) {
          if (err instanceof HttpError && err.code === 'RATE_LIMIT_EXCEEDED') res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
          throw err;
        }
        if (gone) close();
        else sink.start();
      },
    ),
  );
  return hub;
}
