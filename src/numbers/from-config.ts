import type { Config } from '../config';
import { SecretBox, parseEncryptionKey } from '../crypto/secrets';
import { digitsOf, type DefaultNumber } from './registry';

/** The environment's number: the default number (id 1) of this deployment. */
export function defaultNumberFromConfig(config: Config): DefaultNumber {
  if (config.WHATSAPP_PROVIDER === 'twilio') {
    const digits = digitsOf(config.TWILIO_WHATSAPP_FROM ?? '');
    return { provider: 'twilio', phoneNumberId: digits || undefined, displayNumber: digits ? `+${digits}` : undefined };
  }
  return { provider: config.WHATSAPP_PROVIDER, phoneNumberId: config.WHATSAPP_PHONE_NUMBER_ID };
}

/** CREDENTIALS_ENCRYPTION_KEY as a SecretBox; undefined when unset. */
export function secretsFromConfig(config: Config): SecretBox | undefined {
  return config.CREDENTIALS_ENCRYPTION_KEY ? new SecretBox(parseEncryptionKey(config.CREDENTIALS_ENCRYPTION_KEY)) : undefined;
}
