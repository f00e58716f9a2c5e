/**
 * Scores one drill from what the user would see (the replies at the fake Graph server) and what
 * the business keeps (the rows in Postgres). A reply "mentions" a message when its text contains
 * the message's token: the fake model answers "Reply to: <the burst's texts>".
 */
import pg from 'pg';
import type { GraphSend } from '../test/helpers/fake-graph';
import { TOKEN_PATTERN, type LoadMessage, type WebhookFailures } from './drill-load';

export interface DbRow {
  wa_id: string;
  direction: 'inbound' | 'outbound';
  sender_type: string;
  wamid: string | null;
  client_key: string | null;
  content: string;
  delivery_status: string;
}

export async function readRecord(databaseUrl: string, waIds: string[]): Promise<DbRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<DbRow>(
      `select c.wa_id, m.direction, m.sender_type, m.wamid, m.client_key, m.content, m.delivery_status
         from messages m join conversations c on c.id = m.conversation_id
        where c.wa_id = any($1) order by m.id`,
      [waIds],
    );
    return rows;
  } finally {
    await client.end();
  }
}

export interface DrillScore {
  /** Messages the load generator wrote (unique wamids), and of those the ones a POST got 200 for. */
  sent: number;
  accepted: number;
  /** Never got a 200 although redelivered for two minutes after the load stopped. */
  sendFailed: number;
  /** POSTs beyond each message's first (Meta-style redeliveries), and how many messages needed one. */
  webhookRetries: number;
  messagesRedelivered: number;
  webhookFailures: Record<string, WebhookFailures>;
  /** Accepted messages with an inbound row (by wamid) in Postgres. */
  recorded: number;
  notRecorded: number;
  /** Accepted messages mentioned by exactly one reply / by two or more replies to their chat. */
  answered: number;
  answeredTwice: number;
  /** Mentioned by no reply, but their chat got the fallback reply after they were written. */
  answeredWithFallback: number;
  /** Mentioned by no reply, and no fallback reply can account for them. */
  notAnswered: number;
  /** Accepted, and not recorded or not answered (a message counted once even if both). */
  lost: number;
  /** Replies (Graph sends) to the drill's chats; fallback replies among them. */
  replies: number;
  fallbackReplies: number;
  /** The same reply text sent twice to the same chat: the shape of a re-sent reply. */
  repeatedReplies: number;
  /** Graph sends whose wamid no outbound row holds (a send the record does not know went out). */
  sendsNotOnRecord: number;
  /** A token echoed in a reply to another chat (never expected). */
  misrouted: number;
  /** Messages with no 200 that were answered anyway (a POST timed out after Temporal took it). */
  unacceptedButAnswered: number;
  examples: { lost: unknown[]; answeredTwice: unknown[]; repeatedReplies: unknown[] };
}

export function score(messages: LoadMessage[], failures: Map<string, WebhookFailures>, sends: GraphSend[], rows: DbRow[], fallbackText: string): DrillScore {
  const byToken = new Map(messages.map((m) => [m.token, m]));
  const mentions = new Map<string, GraphSend[]>();
  let misrouted = 0;
  for (const send of sends) {
    for (const token of new Set(send.text?.match(TOKEN_PATTERN) ?? [])) {
      if (byToken.get(token)?.waId !== send.to) misrouted++;
      else mentions.set(token, [...(mentions.get(token) ?? []), send]);
    }
  }
  const fallbacks = sends.filter((s) => s.text === fallbackText);
  const inbound = new Set(rows.filter((r) => r.direction === 'inbound').map((r) => r.wamid));
  const outboundWamids = new Set(rows.filter((r) => r.direction === 'outbound').map((r) => r.wamid));

  const accepted = messages.filter((m) => m.acceptedAt !== undefined);
  let answered = 0;
  let answeredWithFallback = 0;
  const twice: LoadMessage[] = [];
  const notAnswered: LoadMessage[] = [];
  const notRecorded: LoadMessage[] = [];
  for (const m of accepted) {
    const n = mentions.get(m.token)?.length ?? 0;
    if (n === 1) answered++;
    else if (n > 1) twice.push(m);
    else if (fallbacks.some((f) => f.to === m.waId && f.at >= m.firstPostAt)) answeredWithFallback++;
    else notAnswered.push(m);
    if (!inbound.has(m.wamid)) notRecorded.push(m);
  }
  const lost = [...new Set([...notAnswered, ...notRecorded])];

  const seenReply = new Set<string>();
  const repeated: GraphSend[] = [];
  for (const s of sends) {
    const key = `${s.to}\n${s.text}`;
    if (seenReply.has(key)) repeated.push(s);
    seenReply.add(key);
  }
  const describe = (m: LoadMessage) => ({
    ...m,
    recorded: inbound.has(m.wamid),
    replies: (mentions.get(m.token) ?? []).map((s) => ({
      at: new Date(s.at).toISOString(),
      wamid: s.wamid,
      text: s.text,
      onRecord: outboundWamids.has(s.wamid),
    })),
    record: rows.filter((r) => r.wa_id === m.waId && r.content.includes(m.token)),
  });
  return {
    sent: messages.length,
    accepted: accepted.length,
    sendFailed: messages.filter((m) => m.acceptedAt === undefined).length,
    webhookRetries: messages.reduce((n, m) => n + m.posts - 1, 0),
    messagesRedelivered: messages.filter((m) => m.posts > 1).length,
    webhookFailures: Object.fromEntries(failures),
    recorded: accepted.length - notRecorded.length,
    notRecorded: notRecorded.length,
    answered,
    answeredTwice: twice.length,
    answeredWithFallback,
    notAnswered: notAnswered.length,
    lost: lost.length,
    replies: sends.length,
    fallbackReplies: fallbacks.length,
    repeatedReplies: repeated.length,
    sendsNotOnRecord: sends.filter((s) => !outboundWamids.has(s.wamid)).length,
    misrouted,
    unacceptedButAnswered: messages.filter((m) => m.acceptedAt === undefined && mentions.has(m.token)).length,
    examples: {
      lost: lost.slice(0, 5).map(describe),
      answeredTwice: twice.slice(0, 5).map(describe),
      repeatedReplies: repeated.slice(0, 5).map((s) => ({ at: new Date(s.at).toISOString(), to: s.to, wamid: s.wamid, text: s.text })),
    },
  };
}
