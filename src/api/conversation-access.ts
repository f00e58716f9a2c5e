import { createHash } from 'node:crypto';
import type { Request } from 'express';
import type { Role } from '../config';
import type { Db } from '../db/database';
import type { ChatActor } from '../workflows/definitions';
import { operatorOf } from './auth';
import { HttpError } from './errors';
import type { ChatRef } from './chat-ref';
import { DEFAULT_NUMBER_ID } from '../numbers/registry';

/**
 * Who may change a conversation (message, take over, hand back, close, tag, assign): operators
 * any, sales those assigned to them (the chat checks that against its own state), admin always.
 */
export const CONVERSATION_WRITE: readonly Role[] = ['operator', 'sales'];

/** The caller as the chat sees them: recorded as the operator, and limited to their own if sales. */
export function actorOf(req: Request): ChatActor {
  const principal = req.principal;
  return {
    operator: operatorOf(principal),
    ...(principal?.userId !== undefined ? { userId: principal.userId } : {}),
    ...(principal?.role === 'sales' ? { onlyAssigned: true } : {}),
  };
}

/** Roles a conversation may be assigned to: people who can answer it. */
const ASSIGNABLE: readonly Role[] = ['admin', 'operator', 'sales'];

/** 400 unless `userId` names an active user who may answer conversations. */
export async function requireAssignableUser(db: Db, userId: number, field = 'assigned_to'): Promise<void> {
  const user = await db.selectFrom('users').select(['id', 'role', 'is_active']).where('id', '=', userId).executeTakeFirst();
  if (!user) throw new HttpError('VALIDATION_ERROR', `${field}: user ${userId} does not exist`);
  if (!user.is_active) throw new HttpError('VALIDATION_ERROR', `${field}: user ${userId} is deactivated`);
  if (!ASSIGNABLE.includes(user.role)) {
    throw new HttpError('VALIDATION_ERROR', `${field}: user ${userId} is a ${user.role}, who cannot answer conversations (assign an operator, sales or admin)`);
  }
}

/**
 * An Idempotency-Key header, as the ids that make a repeated request harmless: the send's client
 * key (one message in Postgres, never sent twice) and the update's id (Temporal answers a repeat
 * with the first outcome). Scoped to the caller, so two callers' keys never collide.
 */
export function idempotencyOf(req: Request, chat: ChatRef): { clientKey: string; updateId: string } | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new HttpError('VALIDATION_ERROR', 'Idempotency-Key must be 1-255 printable ASCII characters without spaces');
  }
  const digest = createHash('sha256')
    .update(`${operatorOf(req.principal)}\n${key}`)
    .digest('hex')
    .slice(0, 32);
  // The chat's key as its workflow id names it: the same key for another of our numbers is another message.
  const scope = chat.number && chat.number.id !== DEFAULT_NUMBER_ID ? `${chat.waId}@${chat.number.id}` : chat.waId;
  return { clientKey: `${scope}:idem:${digest}`, updateId: `idem-${digest}` };
}
