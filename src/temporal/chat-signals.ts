import type { Client } from '@temporalio/client';
import type { SearchAttributePair, SignalDefinition } from '@temporalio/common';
import type { chatWorkflow } from '../workflows/chat';
import { countSignal } from '../metrics/registry';
import { CHAT_WORKFLOW_TYPE, inboundMessageSignal, type InboundMessage } from '../workflows/definitions';
import { businessNumberKey, chatModeKey, conversationStatusKey, lastInboundAtKey, needsHumanKey, whatsAppPhoneKey } from '../workflows/search-attributes';
import { DEFAULT_WORKFLOW_IDS, type WorkflowIds } from './workflow-ids';

/** The business number a chat is with (issue 13): its id, and what BusinessNumber shows. */
export interface ChatNumber {
  id: number;
  /** Meta's phone_number_id or the Twilio number's digits; empty when the default number has none configured. */
  phoneNumberId: string;
}

/** The chat's workflow arguments: the number only when it is not the default (as chats before numbers had). */
export function chatArgs(waId: string, number?: ChatNumber): { waId: string; numberId?: number } {
  return number && number.id !== 1 ? { waId, numberId: number.id } : { waId };
}

/** The search attributes a chat starts with, so its first task need not upsert them. */
export function chatStartAttributes(waId: string, number?: ChatNumber): SearchAttributePair[] {
  return [
    { key: whatsAppPhoneKey, value: waId },
    { key: chatModeKey, value: 'bot' },
    { key: needsHumanKey, value: false },
    { key: conversationStatusKey, value: 'open' },
    ...(number?.phoneNumberId ? [{ key: businessNumberKey, value: number.phoneNumberId }] : []),
  ];
}

/**
 * Signals a chat, starting its workflow if this is the first we hear of the user. Used by the
 * webhook (inbound messages) and the campaign sender (campaign messages join the chat's context).
 */
export async function signalChat<Arg>(
  client: Client,
  taskQueue: string,
  waId: string,
  signal: SignalDefinition<[Arg]>,
  arg: Arg,
  /** More search attributes for a chat this call starts (ignored when it is running already). */
  startAttributes: SearchAttributePair[] = [],
  /** The deployment's ids (TEMPORAL_ID_PREFIX); absent: the unprefixed `chat-<wa_id>`. */
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
  /** The business number of the chat; absent: the default number. */
  number?: ChatNumber,
): Promise<void> {
  const sending = client.workflow.signalWithStart<typeof chatWorkflow, [Arg]>(CHAT_WORKFLOW_TYPE, {
    workflowId: ids.chat(waId, number?.id),
    taskQueue,
    args: [chatArgs(waId, number)],
    signal,
    signalArgs: [arg],
    typedSearchAttributes: [...chatStartAttributes(waId, number), ...startAttributes],
  });
  await countSignal(signal.name, sending);
}

/**
 * An inbound message to its chat. A chat it starts begins with LastInboundAt already set (the
 * time the chat will record: Meta's, but never in the future), so the workflow's first task need
 * not upsert it: one history event and visibility write less per new chat.
 */
export async function signalInbound(
  client: Client,
  taskQueue: string,
  message: InboundMessage,
  ids: WorkflowIds = DEFAULT_WORKFLOW_IDS,
  number?: ChatNumber,
): Promise<void> {
  const lastInboundAt = new Date(Math.min(message.sentAt, Date.now()));
  await signalChat(client, taskQueue, message.waId, inboundMessageSignal, message, [{ key: lastInboundAtKey, value: lastInboundAt }], ids, number);
}
