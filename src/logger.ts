import pino, { type Logger } from 'pino';

export type { Logger };

/** Secrets and message bodies never reach the logs. */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'req.headers.cookie',
  '*.accessToken',
  '*.apiKey',
  '*.appSecret',
  '*.password',
  '*.token',
  '*.secret',
];

export function createLogger(level: string, name: string): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } });
}
