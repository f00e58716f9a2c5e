import type { Db } from '../db/database';
import { isUniqueViolation } from '../db/pg-errors';
import { createUser, findUserByEmail } from '../db/users';
import type { Logger } from '../logger';
import { hashPassword } from './passwords';

/**
 * ADMIN_EMAIL / ADMIN_PASSWORD: the first admin, created once when no user has that email. An
 * existing user is left alone (their password may have been changed since), so restarts are harmless.
 */
export async function ensureAdminUser(db: Db, email: string, password: string, log: Logger): Promise<void> {
  if (await findUserByEmail(db, email)) return;
  try {
    await createUser(db, { email: email.toLowerCase(), password_hash: await hashPassword(password), role: 'admin', full_name: 'Administrator' });
    log.info({ email }, 'created the admin user from ADMIN_EMAIL');
  } catch (err) {
    // Another API process created it at the same moment.
    if (!isUniqueViolation(err)) throw err;
  }
}
