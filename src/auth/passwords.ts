import bcrypt from 'bcryptjs';

/**
 * bcrypt, cost 11 (about 100 ms of one core in pure JS): slow enough to make a stolen table
 * expensive to crack, fast enough that a login never feels slow.
 */
const COST = 11;

export const PASSWORD_MIN_LENGTH = 10;
/** bcrypt reads only the first 72 bytes; longer passwords would silently lose their tail. */
export const PASSWORD_MAX_BYTES = 72;

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, COST);
}

// Compared against when the email is unknown, so a login takes as long whether or not it exists.
const DUMMY_HASH = bcrypt.hashSync('not-a-real-password-0000', COST);

export async function verifyPassword(password: string, hash: string | undefined): Promise<boolean> {
  const ok = await bcrypt.compare(password, hash ?? DUMMY_HASH);
  return ok && hash !== undefined;
}
