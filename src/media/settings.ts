import type { Config } from '../config';
import type { Logger } from '../logger';
import { MetaGraphSender } from '../channels/meta-graph';
import type { MediaSettings } from './files';

/** The API's file-upload settings from the configuration: Graph's client on Meta, the public URL on Twilio. */
export function mediaSettings(config: Config, log: Logger): MediaSettings {
  if (config.WHATSAPP_PROVIDER === 'meta') {
    return {
      provider: 'meta',
      // Config requires both when the provider is meta.
      uploader: new MetaGraphSender({
        baseUrl: config.WHATSAPP_API_BASE_URL,
        phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID!,
        accessToken: config.WHATSAPP_ACCESS_TOKEN!,
      }),
    };
  }
  if (config.WHATSAPP_PROVIDER === 'twilio') {
    if (!config.PUBLIC_BASE_URL) log.warn('PUBLIC_BASE_URL is not set: file uploads are refused (Twilio fetches media from a public URL of this API)');
    return { provider: 'twilio', publicBaseUrl: config.PUBLIC_BASE_URL };
  }
  return { provider: 'console' };
}
