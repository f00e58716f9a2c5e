import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../../db/database';
import type { Receipt } from '../../db/messages';
import { idsOf, type WorkflowIds } from '../../temporal/workflow-ids';
import { deliveryFailedSignal, type DeliveryFailure } from '../../workflows/definitions';

/** "The 24-hour window is closed": Meta's re-engagement error (470 before 2022) and Twilio's. */
const WINDOW_CLOSED_CODES = new Set([131047, 470, 63016]);

/**
 * Codes that say "not now" rather than "never": rate and pair limits, Meta's own trouble, Twilio's
 * queue and rate limits. Every other failure (131026 undeliverable, 131051 unsupported type,
 * template errors, an unknown code, no code at all) is for good, and a human should look.
 */
const TRANSIENT_CODES = new Set([1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131049, 131056, 133004, 20429, 30001, 63018, 63038]);

interface FailureCode {
  code?: number;
  title?: string;
}

function firstError(errors: unknown): FailureCode {
  const first = (Array.isArray(errors) ? errors[0] : undefined) as { code?: unknown; title?: unknown; message?: unknown } | undefined;
  const code = typeof first?.code === 'number' ? first.code : typeof first?.code === 'string' && /^\d+$/.test(first.code) ? Number(first.code) : undefined;
  const title = typeof first?.title === 'string' ? first.title : typeof first?.message === 'string' ? first.message : undefined;
  return { code, title: title?.slice(0, 200) };
}

export function isPermanentFailure(code: number | undefined): boolean {
  return code === undefined || !TRANSIENT_CODES.has(code);
}

/**
 * Tells each chat whose reply (bot or operator) WhatsApp could not deliver for good, so it is
 * flagged NeedsHuman and, for a closed window, sends templates only until the user writes again.
 * Campaign sends are not chats' business: their failures stay with the campaign. Idempotent (a
 * redelivered status signals again, which changes nothing), so a Temporal error fails the webhook
 * and the provider's retry tries again.
 */
export async function signalDeliveryFailures(deps: { db: Db; temporal: Client; log: Logger; ids?: WorkflowIds }, receipts: Receipt[]): Promise<number> {
  const failed = new Map<string, FailureCode>();
  for (const r of receipts) {
    if (r.status !== 'failed') continue;
    const error = firstError(r.errors);
    if (isPermanentFailure(error.code)) failed.set(r.wamid, error);
  }
  if (failed.size === 0) return 0;
  const rows = await deps.db
    .selectFrom('messages')
    .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
    .select(['messages.wamid', 'messages.created_at', 'conversations.wa_id', 'conversations.number_id'])
    .where('messages.wamid', 'in', [...failed.keys()])
    .where('messages.direction', '=', 'outbound')
    .where('messages.sender_type', 'in', ['bot', 'operator'])
    .execute();
  await Promise.all(
    rows.map(async (row) => {
      const error = failed.get(row.wamid!)!;
      const failure: DeliveryFailure = {
        wamid: row.wamid!,
        ...(error.code !== undefined ? { code: error.code } : {}),
        ...(error.title !== undefined ? { title: error.title } : {}),
        sentAt: new Date(row.created_at).getTime(),
        windowClosed: error.code !== undefined && WINDOW_CLOSED_CODES.has(error.code),
      };
      try {
        await deps.temporal.workflow.getHandle(idsOf(deps).chat(row.wa_id, row.number_id)).signal(deliveryFailedSignal, failure);
      } catch (err) {
        // A chat that no longer runs has no one to flag; anything else is retried by the provider.
        if (err instanceof WorkflowNotFoundError) deps.log.warn({ waId: row.wa_id, wamid: row.wamid }, 'delivery failure for a chat that is not running');
        else throw err;
      }
    }),
  );
  if (rows.length > 0)
    deps.log.warn(
      { failures: rows.map((r) => ({ waId: r.wa_id, wamid: r.wamid, ...failed.get(r.wamid!) })) },
      'replies WhatsApp could not deliver; chats flagged for a human',
    );
  return rows.length;
}
