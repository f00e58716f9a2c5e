import { sql } from 'kysely';
import type { Role } from '../config';
import { inTransaction, type Db } from './database';
import type { User } from './schema';

export interface UserFilters {
  role?: Role;
  active?: boolean;
  search?: string;
  skip: number;
  limit: number;
}

export interface NewUser {
  email: string;
  full_name?: string | null;
  password_hash: string;
  role: Role;
  is_active?: boolean;
}

export interface UserChanges {
  email?: string;
  full_name?: string | null;
  password_hash?: string;
  role?: Role;
  is_active?: boolean;
}

export class LastAdminError extends Error {
  constructor() {
    super('This is the last active admin; make another user admin first');
  }
}

export async function createUser(db: Db, values: NewUser): Promise<User> {
  return db
    .insertInto('users')
    .values({ ...values, email: values.email.trim() })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function getUser(db: Db, id: number): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * A signed-in caller's user row, and whether the login their access token came from is still
 * live: it has a refresh token nobody revoked (logout, reuse of a spent token, a password change
 * and deactivation revoke them all). One query, on the refresh_tokens family index.
 */
export async function getSessionUser(db: Db, id: number, family: string): Promise<(User & { session_live: boolean }) | undefined> {
  return db
    .selectFrom('users')
    .selectAll('users')
    .select((eb) =>
      eb
        .exists(
          eb
            .selectFrom('refresh_tokens')
            .select(sql`1`.as('one'))
            .where('refresh_tokens.family', '=', family)
            .whereRef('refresh_tokens.user_id', '=', 'users.id')
            .where('refresh_tokens.revoked_at', 'is', null),
        )
        // Postgres answers exists() with a boolean.
        .$castTo<boolean>()
        .as('session_live'),
    )
    .where('users.id', '=', id)
    .executeTakeFirst();
}

export async function findUserByEmail(db: Db, email: string): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
    .where(sql<string>`lower(email)`, '=', email.trim().toLowerCase())
    .executeTakeFirst();
}

export async function listUsers(db: Db, f: UserFilters): Promise<{ rows: User[]; total: number }> {
  let q = db.selectFrom('users');
  if (f.role) q = q.where('role', '=', f.role);
  if (f.active !== undefined) q = q.where('is_active', '=', f.active);
  if (f.search) {
    const s = f.search.toLowerCase();
    q = q.where((eb) => eb.or([sql<boolean>`strpos(lower(email), ${s}) > 0`, sql<boolean>`strpos(lower(coalesce(full_name, '')), ${s}) > 0`]));
  }
  const [rows, count] = await Promise.all([
    q.selectAll().orderBy('id').limit(f.limit).offset(f.skip).execute(),
    q.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}

/**
 * Changes a user. Demoting or deactivating the last active admin is refused, checked under a lock
 * so two admins demoting each other at once cannot both succeed.
 */
export async function updateUser(db: Db, id: number, changes: UserChanges): Promise<User | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('users').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!current) return undefined;
    const losesAdmin = current.role === 'admin' && current.is_active && ((changes.role && changes.role !== 'admin') || changes.is_active === false);
    if (losesAdmin) await assertAnotherAdmin(trx, id);
    const updated = await trx
      .updateTable('users')
      .set({ ...changes, ...(changes.email ? { email: changes.email.trim() } : {}), updated_at: new Date() })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    // Deactivated or with a new password: every refresh token of the user stops working now.
    if (changes.is_active === false || changes.password_hash) await revokeUserTokens(trx, id);
    return updated;
  });
}

export async function deleteUser(db: Db, id: number): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const current = await trx.selectFrom('users').select(['role', 'is_active']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!current) return false;
    if (current.role === 'admin' && current.is_active) await assertAnotherAdmin(trx, id);
    await trx.deleteFrom('users').where('id', '=', id).execute();
    return true;
  });
}

async function assertAnotherAdmin(trx: Db, exceptId: number): Promise<void> {
  // Locks every active admin row: a concurrent demotion waits here and then sees this one's result.
  const others = await trx
    .selectFrom('users')
    .select('id')
    .where('role', '=', 'admin')
    .where('is_active', '=', true)
    .where('id', '!=', exceptId)
    .forUpdate()
    .execute();
  if (others.length === 0) throw new LastAdminError();
}

export async function recordLogin(db: Db, id: number): Promise<void> {
  await db.updateTable('users').set({ last_login_at: new Date() }).where('id', '=', id).execute();
}

// ---- refresh tokens ----

export async function storeRefreshToken(db: Db, userId: number, hash: string, family: string, expiresAt: Date): Promise<void> {
  await db.insertInto('refresh_tokens').values({ user_id: userId, token_hash: hash, family, expires_at: expiresAt }).execute();
}

export type RefreshOutcome = { ok: true; userId: number; family: string } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' | 'reused' };

/**
 * Spends a refresh token: each one works once. Presenting a spent token again means it was
 * copied, so its whole family (every token descended from the same login) is revoked.
 */
export async function consumeRefreshToken(db: Db, hash: string): Promise<RefreshOutcome> {
  return inTransaction(db, async (trx) => {
    const row = await trx.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', hash).forUpdate().executeTakeFirst();
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.revoked_at) return { ok: false, reason: 'revoked' };
    if (row.used_at) {
      await trx.updateTable('refresh_tokens').set({ revoked_at: new Date() }).where('family', '=', row.family).where('revoked_at', 'is', null).execute();
      return { ok: false, reason: 'reused' };
    }
    if (row.expires_at.getTime() <= Date.now()) return { ok: false, reason: 'expired' };
    await trx.updateTable('refresh_tokens').set({ used_at: new Date() }).where('id', '=', row.id).execute();
    return { ok: true, userId: row.user_id, family: row.family };
  });
}

/** Logout: the token's family stops working. False when the token is unknown. */
export async function revokeRefreshFamily(db: Db, hash: string): Promise<boolean> {
  const row = await db.selectFrom('refresh_tokens').select('family').where('token_hash', '=', hash).executeTakeFirst();
  if (!row) return false;
  await db.updateTable('refresh_tokens').set({ revoked_at: new Date() }).where('family', '=', row.family).where('revoked_at', 'is', null).execute();
  return true;
}

async function revokeUserTokens(db: Db, userId: number): Promise<void> {
  await db.updateTable('refresh_tokens').set({ revoked_at: new Date() }).where('user_id', '=', userId).where('revoked_at', 'is', null).execute();
}
