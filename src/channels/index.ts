import type { Config } from '../config';
import type { Logger } from '../logger';
import { ConsoleSender } from './console';
import { MetaGraphSender } from './meta-graph';
import type { WhatsAppSender } from './types';

export function createSender(config: Config, log: Logger): WhatsAppSender {
  if (config.WHATSAPP_PROVIDER === 'meta') {
    return new MetaGraphSender({
      baseUrl: config.WHATSAPP_API_BASE_URL,
      phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID!,
      accessToken: config.WHATSAPP_ACCESS_TOKEN!,
    });
  }
  return new ConsoleSender(log);
}
