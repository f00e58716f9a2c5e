import pino from 'pino';
import { createSender } from '../channels';
import { SendError } from '../channels/types';
import { normalizePhone } from '../contacts/phone-number';
import { checkConfig } from './checks';
import { formatCheck, reason, withTimeout, type Print } from './report';

export interface TestWhatsAppOptions {
  phone?: string;
  message?: string;
}

export const DEFAULT_TEST_MESSAGE = 'Test message from the WhatsApp assistant (npm run cli -- test-whatsapp).';

// Graph codes whose cause is not obvious from Meta's message.
const HINTS: Record<number, string> = {
  131047: 'the number has not written to you in the last 24 hours, so WhatsApp only accepts a template',
  131030: "the number is not in the test number's allowed list in the Meta developer console",
  190: 'WHATSAPP_ACCESS_TOKEN is invalid or expired',
};

/**
 * Seed 003's test_whatsapp: one text through the configured provider's sender, the same client the
 * worker uses. Not recorded in Postgres and not part of any chat.
 */
export async function testWhatsApp(env: NodeJS.ProcessEnv, opts: TestWhatsAppOptions, print: Print): Promise<number> {
  if (!opts.phone) {
    print('FAIL phone: --phone is required, in international form, e.g. --phone +14155238886');
    return 1;
  }
  const phone = normalizePhone(opts.phone);
  if (!phone.ok) {
    print(`FAIL phone: ${phone.reason}`);
    return 1;
  }
  const { config, results } = checkConfig(env);
  if (!config) {
    for (const r of results) print(formatCheck(r));
    return 1;
  }
  // Logs (the console provider's line included) go to stderr; stdout carries the result.
  const log = pino({ level: config.LOG_LEVEL }, pino.destination({ dest: 2, sync: true }));
  const sender = createSender(config, log);
  try {
    const { wamid } = await withTimeout(sender.send(phone.waId, { kind: 'text', text: opts.message || DEFAULT_TEST_MESSAGE }), 30_000, sender.provider);
    const local = sender.provider === 'console' ? '; console provider: nothing left the machine' : '';
    print(`PASS sent to ${phone.e164} via ${sender.provider} (message id ${wamid})${local}`);
    return 0;
  } catch (err) {
    const hint = err instanceof SendError && err.code !== undefined && HINTS[err.code] ? ` (${HINTS[err.code]})` : '';
    print(`FAIL not sent to ${phone.e164} via ${sender.provider}: ${reason(err)}${hint}`);
    return 1;
  }
}
