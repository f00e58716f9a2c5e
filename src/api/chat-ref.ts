import { z } from 'zod';
import { numbersOf, DEFAULT_NUMBER_ID } from '../numbers/registry';
import type { ChatNumber } from '../temporal/chat-signals';
import type { AppDeps } from './deps';
import { HttpError } from './errors';

/** A chat as the API addresses it: a WhatsApp user with one of the business's numbers (issue 13). */
export interface ChatRef {
  waId: string;
  /** Absent: the default number. */
  number?: ChatNumber;
}

/** The `number_id` a request may name: the business number to write from (default: the default number). */
export const NumberIdField = z.coerce
  .number()
  .int()
  .min(1)
  .max(2_147_483_647)
  .describe('The business number to send from (GET /api/v1/numbers); default 1, the default number');

/**
 * The number a request names, checked: it must exist and be enabled, since a disabled number's
 * conversations are closed to new messages. 400 otherwise, and nothing is sent.
 */
export async function chatNumberFor(deps: AppDeps, numberId: number | undefined, field = 'number_id'): Promise<ChatNumber> {
  const number = await numbersOf(deps).byId(numberId ?? DEFAULT_NUMBER_ID);
  if (!number) throw new HttpError('VALIDATION_ERROR', `${field}: number ${numberId} does not exist`);
  if (!number.enabled) throw new HttpError('VALIDATION_ERROR', `${field}: number ${numberId} is disabled; enable it to write from it`);
  return number;
}

/** The chat of a customer with the number a request names (takeover, handback): 400 for a number that does not exist. */
export async function chatRefByPhone(deps: AppDeps, waId: string, numberId: number | undefined): Promise<ChatRef> {
  if (numberId !== undefined && !(await numbersOf(deps).byId(numberId)))
    throw new HttpError('VALIDATION_ERROR', `number_id: number ${numberId} does not exist`);
  return chatRefOfRow(deps, { wa_id: waId, number_id: numberId ?? DEFAULT_NUMBER_ID });
}

/** The chat of a conversation row (its number need not be enabled: reading and lifecycle changes still work). */
export async function chatRefOfRow(deps: AppDeps, row: { wa_id: string; number_id: number }): Promise<ChatRef> {
  const number = await numbersOf(deps).byId(row.number_id);
  return { waId: row.wa_id, number: { id: row.number_id, phoneNumberId: number?.phoneNumberId ?? '' } };
}
