import {
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import type { WorkflowIds } from '../temporal/workflow-ids';
import { chatArgs, chatStartAttributes } from '../temporal/chat-signals';
import type { ChatRef } from './chat-ref';
import type { chatWorkflow } from '../workflows/chat';
import {
  CHAT_WORKFLOW_TYPE,
  type ConversationChange,
  INVALID_CONVERSATION_CHANGE,
  INVALID_OPERATOR_MESSAGE,
  NOT_ASSIGNED,
  SEND_FAILED,
  WINDOW_CLOSED,
} from '../workflows/definitions';
import { HttpError } from './errors';

/** How to reach the chat: an existing one only (404 otherwise), or started if it is not running. */
export interface ChatUpdateOptions {
  timeoutMs: number;
  /**
   * Start the chat if it is not running (update-with-start): a conversation begun by the business,
   * or one whose workflow is gone, which starts again with the inbox state Postgres has for it.
   */
  start?: { taskQueue: string; lifecycle?: ConversationChange };
  /** The update's id: the same id asked again within a run answers the first outcome (Idempotency-Key). */
  updateId?: string;
}

/**
 * Runs an update on a chat and turns Temporal's answers into the API's: no workflow is a 404,
 * a rejected update a 400/403/409, a failed send a 502, no worker answering in time a 502.
 */
export async function updateChat<Ret, Arg>(
  client: Client,
  ids: WorkflowIds,
  /** The chat: a wa_id (the default number's) or a user with one of our numbers. */
  chat: string | ChatRef,
  update: UpdateDefinition<Ret, [Arg]>,
  arg: Arg,
  options: number | ChatUpdateOptions,
): Promise<Ret> {
  const { timeoutMs, start, updateId } = typeof options === 'number' ? { timeoutMs: options } : options;
  const { waId, number } = typeof chat === 'string' ? { waId: chat, number: undefined } : chat;
  const workflowId = ids.chat(waId, number?.id);
  const run = (): Promise<Ret> =>
    start
      ? client.workflow.executeUpdateWithStart(update, {
          args: [arg],
          ...(updateId ? { updateId } : {}),
          startWorkflowOperation: new WithStartWorkflowOperation<typeof chatWorkflow>(CHAT_WORKFLOW_TYPE, {
            workflowId,
            taskQueue: start.taskQueue,
            args: [{ ...chatArgs(waId, number), ...(start.lifecycle ? { lifecycle: start.lifecycle } : {}) }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: chatStartAttributes(waId, number),
          }),
        })
      : client.workflow.getHandle(workflowId).executeUpdate(update, { args: [arg], ...(updateId ? { updateId } : {}) });
  try {
    return await client.withDeadline(Date.now() + timeoutMs, run);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new HttpError('NOT_FOUND', `No conversation found for phone number ${waId}`);
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const { type, message } = err.cause;
      if (type === WINDOW_CLOSED) throw new HttpError('CONFLICT', message, { reason: 'outside_24h_window' });
      if (type === INVALID_OPERATOR_MESSAGE || type === INVALID_CONVERSATION_CHANGE) throw new HttpError('VALIDATION_ERROR', message);
      if (type === NOT_ASSIGNED) throw new HttpError('AUTHORIZATION_ERROR', message, { reason: 'not_assigned_to_you' });
      if (type === SEND_FAILED) throw new HttpError('EXTERNAL_SERVICE_ERROR', message);
      throw new HttpError('CONFLICT', message);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadlineExceeded(err)) {
      throw new HttpError('EXTERNAL_SERVICE_ERROR', 'The chat did not confirm in time (is a worker running?). The request may still complete.');
    }
    throw err;
  }
}

function isDeadlineExceeded(err: unknown): boolean {
  return /deadline exceeded/i.test((err as Error)?.message ?? '');
}
