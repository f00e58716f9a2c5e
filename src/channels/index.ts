import type { Config } from '../config';
import type { Logger } from '../logger';
import { ConsoleSender } from './console';
import { MetaGraphSender } from './meta-graph';
import { TwilioSender } from './twilio';
import type { WhatsAppSender } from './types';

export function createSender(config: Config, log: Logger): WhatsAppSender {
  if (config.WHATSAPP_PROVIDER === 'meta') {
    return new MetaGraphSender({
      baseUrl: config.WHATSAPP_API_BASE_URL,
      phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID!,
      accessToken: config.WHATSAPP_ACCESS_TOKEN!,
    });
  }
  if (config.WHATSAPP_PROVIDER === 'twilio') {
    // Config requires the three credentials when the provider is twilio.
    return new TwilioSender({
      baseUrl: config.TWILIO_API_BASE_URL,
      accountSid: config.TWILIO_ACCOUNT_SID!,
      authToken: config.TWILIO_AUTH_TOKEN!,
      from: config.TWILIO_WHATSAPP_FROM!,
      publicBaseUrl: config.PUBLIC_BASE_URL,
    });
  }
  return new ConsoleSender(log);
}
