import { inTransaction, type Db } from './database';
import { isUniqueViolation } from './pg-errors';
import type { ContactPhoneNumber } from './schema';

/** A rule of the contact book would be broken (a number owned twice, a contact left without one). */
export class ContactConflict extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

export interface NewPhone {
  e164: string;
  waId: string;
  label?: string | null;
  isPrimary?: boolean;
}

/** Fails with a conflict naming the owner when any of these numbers already belongs to a contact. */
export async function assertPhonesFree(db: Db, phones: Pick<NewPhone, 'e164' | 'waId'>[], exceptPhoneId?: number): Promise<void> {
  if (phones.length === 0) return;
  let q = db
    .selectFrom('contact_phone_numbers')
    .select(['contact_id', 'phone_number'])
    .where(
      'wa_id',
      'in',
      phones.map((p) => p.waId),
    );
  if (exceptPhoneId !== undefined) q = q.where('id', '!=', exceptPhoneId);
  const taken = await q.executeTakeFirst();
  if (taken) throw phoneTaken(taken.phone_number, taken.contact_id);
}

export const phoneTaken = (phone: string, contactId?: number) =>
  new ContactConflict(`Phone number ${phone} already belongs to ${contactId ? `contact ${contactId}` : 'another contact'}`, {
    phone,
    contact_id: contactId ?? null,
  });

/** Turns the unique index's verdict on a race between two writers into the same conflict as the check. */
export function rethrowPhoneRace(phone: string): (err: unknown) => never {
  return (err) => {
    if (isUniqueViolation(err)) throw phoneTaken(phone);
    throw err;
  };
}

/** Primary first, then in the order they were added. */
export async function phonesOf(db: Db, contactIds: number[]): Promise<Map<number, ContactPhoneNumber[]>> {
  const byContact = new Map<number, ContactPhoneNumber[]>(contactIds.map((id) => [id, []]));
  if (contactIds.length === 0) return byContact;
  const rows = await db
    .selectFrom('contact_phone_numbers')
    .selectAll()
    .where('contact_id', 'in', contactIds)
    .orderBy('is_primary', 'desc')
    .orderBy('id')
    .execute();
  for (const r of rows) byContact.get(r.contact_id)?.push(r);
  return byContact;
}

export function getPhone(db: Db, phoneId: number) {
  return db.selectFrom('contact_phone_numbers').selectAll().where('id', '=', phoneId).executeTakeFirst();
}

/** Locks the contact so concurrent phone changes cannot both pick a primary. */
async function lockContact(trx: Db, contactId: number): Promise<boolean> {
  const row = await trx.selectFrom('contacts').select('id').where('id', '=', contactId).forUpdate().executeTakeFirst();
  return row !== undefined;
}

async function makePrimary(trx: Db, contactId: number, phoneId: number): Promise<void> {
  // Demote before promoting: the one-primary index is checked per statement.
  const now = new Date();
  await trx
    .updateTable('contact_phone_numbers')
    .set({ is_primary: false, updated_at: now })
    .where('contact_id', '=', contactId)
    .where('is_primary', '=', true)
    .where('id', '!=', phoneId)
    .execute();
  await trx.updateTable('contact_phone_numbers').set({ is_primary: true, updated_at: now }).where('id', '=', phoneId).execute();
}

/** Adds a number; the contact's first number, or one asked to be, becomes the primary. Undefined: no such contact. */
export function addPhone(db: Db, contactId: number, phone: NewPhone): Promise<ContactPhoneNumber | undefined> {
  return inTransaction(db, async (trx) => {
    if (!(await lockContact(trx, contactId))) return undefined;
    await assertPhonesFree(trx, [phone]);
    const hasPrimary = await trx
      .selectFrom('contact_phone_numbers')
      .select('id')
      .where('contact_id', '=', contactId)
      .where('is_primary', '=', true)
      .executeTakeFirst();
    const row = await trx
      .insertInto('contact_phone_numbers')
      .values({ contact_id: contactId, phone_number: phone.e164, wa_id: phone.waId, label: phone.label ?? null, is_primary: false })
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch(rethrowPhoneRace(phone.e164));
    if (!hasPrimary || phone.isPrimary) await makePrimary(trx, contactId, row.id);
    // The number opted out under a contact since deleted: its new owner is opted out with it.
    const suppressed = await trx.deleteFrom('opt_out_suppressions').where('wa_id', '=', phone.waId).returningAll().executeTakeFirst();
    if (suppressed) {
      await trx
        .updateTable('contacts')
        .set({
          opt_in_status: false,
          opted_out_at: suppressed.opted_out_at,
          opt_out_source: suppressed.source,
          opt_out_reason: suppressed.reason,
          updated_at: new Date(),
        })
        .where('id', '=', contactId)
        .execute();
    }
    return getPhone(trx, row.id);
  });
}

export interface PhoneChange {
  phone?: Pick<NewPhone, 'e164' | 'waId'>;
  label?: string | null;
  isPrimary?: boolean;
}

/** A changed number is a different WhatsApp account, so it is no longer verified. */
export function updatePhone(db: Db, phoneId: number, change: PhoneChange): Promise<ContactPhoneNumber | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await getPhone(trx, phoneId);
    if (!current || !(await lockContact(trx, current.contact_id))) return undefined;
    if (change.isPrimary === false && current.is_primary) {
      throw new ContactConflict('A contact always has a primary number: make another number primary instead', { phone_id: phoneId });
    }
    const renumbered = change.phone && change.phone.waId !== current.wa_id ? change.phone : undefined;
    if (renumbered) await assertPhonesFree(trx, [renumbered], phoneId);
    await trx
      .updateTable('contact_phone_numbers')
      .set({
        updated_at: new Date(),
        ...(change.label !== undefined ? { label: change.label } : {}),
        ...(renumbered ? { phone_number: renumbered.e164, wa_id: renumbered.waId, verified_at: null } : {}),
      })
      .where('id', '=', phoneId)
      .execute()
      .catch(rethrowPhoneRace(renumbered?.e164 ?? current.phone_number));
    if (change.isPrimary) await makePrimary(trx, current.contact_id, phoneId);
    return getPhone(trx, phoneId);
  });
}

export function setPrimaryPhone(db: Db, phoneId: number) {
  return updatePhone(db, phoneId, { isPrimary: true });
}

/** Deletes a number; when it was the primary, the oldest remaining one takes over. False: no such number. */
export function deletePhone(db: Db, phoneId: number): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const current = await getPhone(trx, phoneId);
    if (!current || !(await lockContact(trx, current.contact_id))) return false;
    const next = await trx
      .selectFrom('contact_phone_numbers')
      .select('id')
      .where('contact_id', '=', current.contact_id)
      .where('id', '!=', phoneId)
      .orderBy('id')
      .executeTakeFirst();
    // Campaigns reach a contact through a number; one without any would silently drop out of every audience.
    if (!next) {
      throw new ContactConflict("This is the contact's only phone number: add another first, or delete the contact", { phone_id: phoneId });
    }
    await trx.deleteFrom('contact_phone_numbers').where('id', '=', phoneId).execute();
    if (current.is_primary) await makePrimary(trx, current.contact_id, next.id);
    return true;
  });
}

/**
 * WhatsApp proves a number is theirs once its owner writes to the business: that is when Meta
 * hands us the wa_id. Undefined: no such number; null: they have not written yet.
 */
export function verifyPhone(db: Db, phoneId: number, at = new Date()): Promise<ContactPhoneNumber | null | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await getPhone(trx, phoneId);
    if (!current) return undefined;
    const wrote = await trx
      .selectFrom('conversations')
      .select('id')
      .where('wa_id', '=', current.wa_id)
      .where('last_inbound_at', 'is not', null)
      .executeTakeFirst();
    if (!wrote) return null;
    if (current.verified_at) return current;
    await trx.updateTable('contact_phone_numbers').set({ verified_at: at, updated_at: at }).where('id', '=', phoneId).execute();
    return getPhone(trx, phoneId);
  });
}
