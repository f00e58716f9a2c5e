import { z } from 'zod';
import { getConversation } from '../db/conversation-queries';
import type { AppDeps } from './deps';
import { HttpError } from './errors';

export const ConversationIdParams = z.object({ id: z.uuid().describe('conversation id') });
export const MessageIdParams = z.object({
  message_id: z
    .string()
    .regex(/^\d{1,18}$/)
    .describe('message id, as in the message lists'),
});

/** The conversation with this id, or a 404. */
export async function requireConversation(deps: AppDeps, id: string) {
  const found = z.uuid().safeParse(id).success ? await getConversation(deps.db, id) : undefined;
  if (!found) throw new HttpError('NOT_FOUND', `Conversation ${id} not found`);
  return found;
}
