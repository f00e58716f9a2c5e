import { ApplicationFailure } from '@temporalio/activity';
import { SendError, type OutboundContent } from '../channels/types';
import { applyEarlyReceipt, reserveOutbound, type OutboundIntent } from '../db/messages';
import { whatsAppSends } from '../metrics/registry';
import type { ActivityDeps } from './index';

/** The client key is chosen by the workflow; a retry of the same send carries the same key. */
export type SendMessageInput = OutboundIntent;

export function createSendActivities({ db, whatsapp, log }: Pick<ActivityDeps, 'db' | 'whatsapp' | 'log'>) {
  return {
    /**
     * Records the message, sends it, stores the wamid. A retry after a send that reached WhatsApp
     * finds the wamid already stored and does not send again.
     */
    async sendWhatsAppMessage(input: SendMessageInput): Promise<{ wamid: string }> {
      const content: OutboundContent = input.text
        ? { kind: 'text', text: input.text }
        : input.template
          ? { kind: 'template', template: input.template }
          : { kind: 'media', media: input.media ?? {} };
      const { conversation_id: conversationId, wamid: stored } = await reserveOutbound(db, input, content, whatsapp.provider);
      if (stored) return { wamid: stored };

      let wamid: string;
      const labels = { provider: whatsapp.provider, sender_type: input.senderType };
      try {
        ({ wamid } = await whatsapp.send(input.waId, content));
      } catch (err) {
        // Refused for good (the message is recorded failed), or transient and retried by Temporal.
        whatsAppSends.inc({ ...labels, status: err instanceof SendError && !err.retryable ? 'failed' : 'retrying' });
        throw await sendFailure(err, input.clientKey);
      }
      whatsAppSends.inc({ ...labels, status: 'sent' });
      const now = new Date();
      await Promise.all([
        db
          .updateTable('messages')
          .set({ wamid, delivery_status: 'sent', status_updated_at: now, created_at: now })
          .where('client_key', '=', input.clientKey)
          .execute()
          .then(() => applyEarlyReceipt(db, wamid)),
        db.updateTable('conversations').set({ last_message_at: now, updated_at: now }).where('id', '=', conversationId).execute(),
      ]);
      return { wamid };
    },
  };

  async function sendFailure(err: unknown, clientKey: string): Promise<unknown> {
    if (!(err instanceof SendError)) return err;
    if (err.retryable) {
      return ApplicationFailure.create({
        type: 'WhatsAppThrottled',
        message: err.message,
        nextRetryDelay: err.retryAfterMs,
      });
    }
    log.warn({ clientKey, code: err.code }, `WhatsApp refused the message: ${err.message}`);
    await db
      .updateTable('messages')
      .set({ delivery_status: 'failed', status_updated_at: new Date(), error: JSON.stringify({ code: err.code, message: err.message }) })
      .where('client_key', '=', clientKey)
      .execute();
    return ApplicationFailure.nonRetryable(err.message, 'WhatsAppRejected', { code: err.code });
  }
}
