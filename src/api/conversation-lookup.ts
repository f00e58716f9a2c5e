import { z } from 'zod';
import { getConversation } from '../db/conversation-queries';
import type { AppDeps } from './deps';
import { HttpError } from './errors';

/** The conversation with this id, or a 404. */
export async function requireConversation(deps: AppDeps, id: string) {
  const found = z.uuid().safeParse(id).success ? await getConversation(deps.db, id) : undefined;
  if (!found) throw new HttpError('NOT_FOUND', `Conversation ${id} not found`);
  return found;
}
