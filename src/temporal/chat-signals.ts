import type { Client } from '@temporalio/client';
import type { SearchAttributePair, SignalDefinition } from '@temporalio/common';
import type { chatWorkflow } from '../workflows/chat';
import { countSignal } from '../metrics/registry';
import { CHAT_WORKFLOW_TYPE, inboundMessageSignal, type InboundMessage } from '../workflows/definitions';
import { chatModeKey, conversationStatusKey, lastInboundAtKey, needsHumanKey, whatsAppPhoneKey } from '../workflows/search-attributes';
import { DEFAULT_WORKFLOW_IDS, type WorkflowIds } from './workflow-ids';

/** The search attributes a chat starts with, so its first task need not upsert them. */
export function chatStartAttributes(waId: string): SearchAttributePair[] {
  return [
    { key: whatsAppPhoneKey, value: waId },
    { key: chatModeKey, value: 'bot' },
    { key: needsHumanKey, value: false },
    { key: conversationStatusKey, value: 'open' },
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
): Promise<void> {
  const sending = client.workflow.signalWithStart<typeof chatWorkflow, [Arg]>(CHAT_WORKFLOW_TYPE, {
    workflowId: ids.chat(waId),
    taskQueue,
    args: [{ waId }],
    signal,
    signalArgs: [arg],
    typedSearchAttributes: [...chatStartAttributes(waId), ...startAttributes],
  });
  await countSignal(signal.name, sending);
}

/**
 * An inbound message to its chat. A chat it starts begins with LastInboundAt already set (the
 * time the chat will record: Meta's, but never in the future), so the workflow's first task need
 * not upsert it: one history event and visibility write less per new chat.
 */
export async function signalInbound(client: Client, taskQueue: string, message: InboundMessage, ids: WorkflowIds = DEFAULT_WORKFLOW_IDS): Promise<void> {
  const lastInboundAt = new Date(Math.min(message.sentAt, Date.now()));
  await signalChat(client, taskQueue, message.waId, inboundMessageSignal, message, [{ key: lastInboundAtKey, value: lastInboundAt }], ids);
}
