import { randomUUID } from 'node:crypto';
import type { Logger } from '../logger';
import type { OutboundContent, SendResult, WhatsAppSender } from './types';

/** Local runs without a WhatsApp token: outbound is logged (and stored by the caller), nothing leaves. */
export class ConsoleSender implements WhatsAppSender {
  readonly provider = 'console';
  constructor(private readonly log: Logger) {}

  async send(to: string, content: OutboundContent): Promise<SendResult> {
    const wamid = `console.${randomUUID()}`;
    const shown =
      content.kind === 'text'
        ? content.text
        : content.kind === 'template'
          ? `[template ${content.template.name}] ${content.template.text}`
          : `[media ${content.media.mimeType ?? ''} ${content.media.id ?? content.media.link}]`;
    this.log.info({ to, wamid }, `WhatsApp (console) → ${to}: ${shown}`);
    return { wamid };
  }
}
