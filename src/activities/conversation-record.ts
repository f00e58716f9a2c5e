import { sql } from 'kysely';
import { ensureConversation, updateConversationMode } from '../db/conversations';
import { recordCampaignReply } from '../db/campaign-recipients';
import { insertInbound } from '../db/messages';
import type { ConversationLifecycleRecord } from '../db/conversations';
import { isPermanentWriteError } from '../db/pg-errors';
import { optKeyword } from '../workflows/chat-state';
import { applyInboundToLeads, openLeadForCampaignReply } from './lead-replies';
import type { ChatMode } from '../db/schema';
import type { InboundMessage } from '../workflows/definitions';
import type { ActivityDeps } from './index';

export interface RecordInboundInput {
  waId: string;
  /** The business number (whatsapp_numbers.id); absent: the default number. */
  numberId?: number;
  contactName?: string;
  messages: InboundMessage[];
  /** Also return campaign messages sent to this user in the last 7 days (a chat's first record). */
  earlierOutbound?: boolean;
}

export interface RecordInboundResult {
  inserted: number;
  earlier?: { wamid: string; text: string; at: number }[];
}

export interface SyncConversationInput {
  waId: string;
  numberId?: number;
  mode: ChatMode;
  needsHuman: boolean;
  operator: string | null;
  /** The inbox's state; absent from chats that mirrored before the inbox existed. */
  lifecycle?: ConversationLifecycleRecord;
}

export function createConversationActivities(deps: Pick<ActivityDeps, 'db' | 'temporal' | 'log' | 'ids'>) {
  const { db } = deps;
  return {
    /** Idempotent: a retried or redelivered message is stored once (wamid is unique). */
    recordInboundMessages: createInboundRecorder(deps),

    async syncConversation({ waId, numberId, mode, needsHuman, operator, lifecycle }: SyncConversationInput): Promise<void> {
      await updateConversationMode(db, waId, mode, needsHuman, operator, lifecycle, numberId);
    },
  };
}

/**
 * Writes inbound messages (idempotent on wamid) with their conversation, campaign-reply and lead
 * bookkeeping; shared by the recordInboundMessages and replyToBurst activities.
 */
export function createInboundRecorder(deps: Pick<ActivityDeps, 'db' | 'temporal' | 'log' | 'ids'>) {
  const { db, log } = deps;

  /** A conversation is one WhatsApp user with one business number. */
  interface Chat {
    waId: string;
    numberId: number;
  }

  /**
   * A batch Postgres refuses for a reason a retry cannot fix is written message by message; a
   * message it still refuses (with and without the contact name) is logged and skipped. The
   * webhook keeps such messages out (inbound-bounds.ts); this is the last line, so that a chat is
   * never stalled behind a write that can never succeed.
   */
  async function writeResilient(chat: Chat, contactName: string | undefined, messages: InboundMessage[]): Promise<number> {
    try {
      return await writeInbound(db, chat, contactName, messages);
    } catch (err) {
      if (!isPermanentWriteError(err)) throw err;
      log.error({ err, waId: chat.waId, messages: messages.length }, 'Postgres refused an inbound batch for good; writing message by message');
    }
    let inserted = 0;
    for (const message of messages) {
      inserted += await writeOne(chat, contactName, message);
    }
    return inserted;
  }

  async function writeOne(chat: Chat, contactName: string | undefined, message: InboundMessage): Promise<number> {
    for (const name of contactName === undefined ? [undefined] : [contactName, undefined]) {
      try {
        return await writeInbound(db, chat, name, [message]);
      } catch (err) {
        if (!isPermanentWriteError(err)) throw err;
        log.error({ err, waId: chat.waId, wamid: message.wamid, withName: name !== undefined }, 'Postgres refused an inbound message for good');
      }
    }
    log.error({ waId: chat.waId, wamid: message.wamid }, 'inbound message could not be written; skipped so the chat goes on');
    return 0;
  }

  return async function recordInbound({ waId, numberId = 1, contactName, messages, earlierOutbound }: RecordInboundInput): Promise<RecordInboundResult> {
    if (messages.length === 0) return { inserted: 0 };
    const inserted = await writeResilient({ waId, numberId }, contactName, messages);
    // Sales bookkeeping must never hold up the chat: a failure is logged, and the follow-up
    // itself still refuses to go out after the user wrote (the chat checks that).
    await applyInboundToLeads(deps, waId, messages).catch((err: unknown) => log.error({ err, waId }, 'could not apply an inbound message to its lead'));
    if (!earlierOutbound) return { inserted };
    const earlier = await db
      .selectFrom('messages')
      .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
      .select(['messages.wamid', 'messages.content', 'messages.created_at'])
      .where('conversations.wa_id', '=', waId)
      .where('conversations.number_id', '=', numberId)
      .where('messages.sender_type', '=', 'campaign')
      .where('messages.wamid', 'is not', null)
      .where('messages.created_at', '>', new Date(Date.now() - 7 * 24 * 3600_000))
      .orderBy('messages.id', 'desc')
      .limit(5)
      .execute();
    return { inserted, earlier: earlier.map((m) => ({ wamid: m.wamid!, text: m.content, at: new Date(m.created_at).getTime() })) };
  };
}

/** One transaction: the conversation, the messages (once each), its times, campaign reply and lead. */
async function writeInbound(
  db: ActivityDeps['db'],
  { waId, numberId }: { waId: string; numberId: number },
  contactName: string | undefined,
  messages: InboundMessage[],
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const conversationId = await ensureConversation(trx, waId, contactName, numberId);
    const inserted = await insertInbound(
      trx,
      messages.map((m) => ({
        conversation_id: conversationId,
        direction: 'inbound' as const,
        sender_type: 'user' as const,
        wamid: m.wamid,
        client_key: null,
        message_type: m.type,
        content: m.text,
        media: m.media ? JSON.stringify(m.media) : null,
        metadata: inboundMetadata(m),
        delivery_status: 'received' as const,
        status_updated_at: null,
        error: null,
        created_at: new Date(m.sentAt),
      })),
    );
    const last = new Date(Math.max(...messages.map((m) => m.sentAt)));
    await trx
      .updateTable('conversations')
      .set({
        // greatest() ignores nulls, and a redelivered old message never moves these back.
        last_inbound_at: sql<Date>`greatest(last_inbound_at, ${last})`,
        last_message_at: sql<Date>`greatest(last_message_at, ${last})`,
        updated_at: new Date(),
      })
      .where('id', '=', conversationId)
      .execute();
    // A user writing after a campaign message is that campaign's reply (counted once).
    // Its first reply opens a sales lead, in the same transaction so a retry cannot miss it.
    const firstAnswerable = messages.find((m) => m.answerable);
    const campaignReply = firstAnswerable ? await recordCampaignReply(trx, waId, new Date(firstAnswerable.sentAt), numberId) : undefined;
    if (campaignReply?.first && optKeyword(firstAnswerable!) === undefined) {
      await openLeadForCampaignReply(trx, campaignReply, firstAnswerable!);
    }
    return inserted;
  });
}

/** What the row itself cannot say: limited, cut at the edge, or sent with an impossible timestamp. */
function inboundMetadata(m: InboundMessage): string | null {
  const metadata = {
    // Over the user's inbound limit: on record, but never sent to the LLM as a burst.
    ...(m.rateLimited ? { rate_limited: true } : {}),
    ...(m.truncated ? { truncated: true, original_length: m.truncated.originalLength } : {}),
    ...(m.originalTimestamp !== undefined ? { original_timestamp: m.originalTimestamp } : {}),
  };
  return Object.keys(metadata).length > 0 ? JSON.stringify(metadata) : null;
}
