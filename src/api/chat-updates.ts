import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { UpdateDefinition } from '@temporalio/common';
import type { WorkflowIds } from '../temporal/workflow-ids';
import { INVALID_OPERATOR_MESSAGE, SEND_FAILED, WINDOW_CLOSED } from '../workflows/definitions';
import { HttpError } from './errors';

/**
 * Runs an update on a chat and turns Temporal's answers into the API's: no workflow is a 404,
 * a rejected update a 400/409, a failed send a 502, no worker answering in time a 502.
 */
export async function updateChat<Ret, Arg>(
  client: Client,
  ids: WorkflowIds,
  waId: string,
  update: UpdateDefinition<Ret, [Arg]>,
  arg: Arg,
  timeoutMs: number,
): Promise<Ret> {
  const handle = client.workflow.getHandle(ids.chat(waId));
  try {
    return await client.withDeadline(Date.now() + timeoutMs, () => handle.executeUpdate(update, { args: [arg] }));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) {
      throw new HttpError('NOT_FOUND', `No conversation found for phone number ${waId}`);
    }
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      const { type, message } = err.cause;
      if (type === WINDOW_CLOSED) throw new HttpError('CONFLICT', message, { reason: 'outside_24h_window' });
      if (type === INVALID_OPERATOR_MESSAGE) throw new HttpError('VALIDATION_ERROR', message);
      if (type === SEND_FAILED) throw new HttpError('EXTERNAL_SERVICE_ERROR', message);
      throw new HttpError('CONFLICT', message);
    }
    if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isDeadlineExceeded(err)) {
      throw new HttpError(
        'EXTERNAL_SERVICE_ERROR',
        'The chat did not confirm in time (is a worker running?). The request may still complete.',
      );
    }
    throw err;
  }
}

function isDeadlineExceeded(err: unknown): boolean {
  return /deadline exceeded/i.test((err as Error)?.message ?? '');
}
