import type { Config } from '../config';
import { createDb } from '../db/database';
import { checkNumber } from '../numbers/check-number';
import { secretsFromConfig } from '../numbers/from-config';
import { DEFAULT_NUMBER_ID, toBusinessNumber, type BusinessNumber } from '../numbers/registry';
import { fail, pass, reason, skip, warn, withTimeout, type CheckResult } from './report';

const TIMEOUT_MS = 8000;

/** "meta 1234567890 "Sales"": which number a line is about, beyond its id. */
function label(n: BusinessNumber): string {
  return `${n.provider} ${n.provider === 'twilio' ? `+${n.phoneNumberId}` : n.phoneNumberId}${n.name ? ` "${n.name}"` : ''}`;
}

/**
 * One line per number added at run time (whatsapp_numbers beyond the default, which the whatsapp
 * check covers): its credentials decrypt with CREDENTIALS_ENCRYPTION_KEY and its provider accepts
 * them. Disabled numbers are listed as skipped. Nothing when there are none.
 */
export async function checkNumbers(config: Config): Promise<CheckResult[]> {
  const db = createDb(config.DATABASE_URL, 1);
  let numbers: BusinessNumber[];
  try {
    const rows = await withTimeout(
      db.selectFrom('whatsapp_numbers').selectAll().where('id', '!=', DEFAULT_NUMBER_ID).orderBy('id').execute(),
      TIMEOUT_MS,
      'Postgres',
    );
    numbers = rows.map(toBusinessNumber);
  } catch (err) {
    return [fail('numbers', `could not read whatsapp_numbers: ${reason(err)}`)];
  } finally {
    await withTimeout(db.destroy(), 2000, 'Postgres').catch(() => undefined);
  }
  const secrets = secretsFromConfig(config);
  const urls = { graphBaseUrl: config.WHATSAPP_API_BASE_URL, twilioBaseUrl: config.TWILIO_API_BASE_URL };
  return Promise.all(
    numbers.map(async (n): Promise<CheckResult> => {
      const name = `number ${n.id}`;
      if (!n.enabled) return skip(name, `${label(n)} is disabled`);
      const { status, detail } = await checkNumber(n, secrets, urls, TIMEOUT_MS);
      return (status === 'pass' ? pass : status === 'warn' ? warn : fail)(name, `${label(n)}: ${detail}`);
    }),
  );
}
