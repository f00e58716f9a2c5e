import type { Client } from '@temporalio/client';
import type { SignalDefinition } from '@temporalio/common';
import type { chatWorkflow } from '../workflows/chat';
import { countSignal } from '../metrics/registry';
import { CHAT_WORKFLOW_TYPE, chatWorkflowId } from '../workflows/definitions';
import { chatModeKey, needsHumanKey, whatsAppPhoneKey } from '../workflows/search-attributes';

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
): Promise<void> {
  const sending = client.workflow.signalWithStart<typeof chatWorkflow, [Arg]>(CHAT_WORKFLOW_TYPE, {
    workflowId: chatWorkflowId(waId),
    taskQueue,
    args: [{ waId }],
    signal,
    signalArgs: [arg],
    typedSearchAttributes: [
      { key: whatsAppPhoneKey, value: waId },
      { key: chatModeKey, value: 'bot' },
      { key: needsHumanKey, value: false },
    ],
  });
  await countSignal(signal.name, sending);
}
