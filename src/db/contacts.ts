import { sql, type Updateable } from 'kysely';
import { likePattern } from './like';
import { assertPhonesFree, ContactConflict, phonesOf, rethrowPhoneRace, type NewPhone } from './contact-phones';
import { inTransaction, type Db } from './database';
import { isUniqueViolation } from './pg-errors';
import type { Contact, ContactPhoneNumber, ContactsTable } from './schema';

export const CONTACT_TEXT_FIELDS = ['first_name', 'last_name', 'email', 'company', 'job_title', 'notes'] as const;
export type ContactTextField = (typeof CONTACT_TEXT_FIELDS)[number];
export type ContactAttributes = Record<string, string | number | boolean>;
export type ContactWithPhones = Contact & { phone_numbers: ContactPhoneNumber[] };

export interface OptChange {
  source: string;
  reason?: string;
  at: Date;
}

export interface NewContact {
  fields: Partial<Record<ContactTextField, string | null>>;
  tags?: string[];
  attributes?: ContactAttributes;
  /** Consent given (true) or refused (false) as the contact is created; absent: never asked. */
  opt?: OptChange & { optIn: boolean };
  /** The first is the primary unless one says otherwise. */
  phones: NewPhone[];
}

export interface ContactPatch {
  fields: Partial<Record<ContactTextField, string | null>>;
  tags?: string[];
  attributes?: ContactAttributes;
  opt?: OptChange & { optIn: boolean };
}

/**
 * Consent has three states: opted in, explicitly opted out, and never asked. The difference between
 * the last two matters: an explicit opt-out must never be undone by a list import.
 */
export type OptState = 'in' | 'out' | 'never';
export const optState = (c: Pick<Contact, 'opt_in_status' | 'opted_out_at'>): OptState => (c.opt_in_status ? 'in' : c.opted_out_at ? 'out' : 'never');

/** The columns that record a consent change; opt-out keeps the old opt-in time as history, and vice versa. */
export function optColumns(optIn: boolean, o: OptChange): Updateable<ContactsTable> {
  return optIn
    ? { opt_in_status: true, opted_in_at: o.at, opt_in_source: o.source }
    : { opt_in_status: false, opted_out_at: o.at, opt_out_source: o.source, opt_out_reason: o.reason ?? null };
}

/** Inserts a contact and its numbers in the caller's transaction; fails with a conflict if a number is taken. */
export async function insertContact(trx: Db, c: NewContact): Promise<number> {
  await assertPhonesFree(trx, c.phones);
  // A number whose earlier contact opted out and was deleted stays opted out, whatever this says.
  const suppressed = c.phones.length
    ? await trx
        .deleteFrom('opt_out_suppressions')
        .where(
          'wa_id',
          'in',
          c.phones.map((p) => p.waId),
        )
        .returningAll()
        .execute()
    : [];
  if (suppressed[0]) {
    const s = suppressed[0];
    c = { ...c, opt: { optIn: false, at: new Date(s.opted_out_at), source: s.source ?? 'suppression', reason: s.reason ?? undefined } };
  }
  const { id } = await trx
    .insertInto('contacts')
    .values({
      ...c.fields,
      tags: c.tags ?? [],
      attributes: JSON.stringify(c.attributes ?? {}),
      ...(c.opt ? optColumns(c.opt.optIn, c.opt) : {}),
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const primary = Math.max(
    0,
    c.phones.findIndex((p) => p.isPrimary),
  );
  await trx
    .insertInto('contact_phone_numbers')
    .values(c.phones.map((p, i) => ({ contact_id: id, phone_number: p.e164, wa_id: p.waId, label: p.label ?? null, is_primary: i === primary })))
    .execute()
    .catch(rethrowPhoneRace(c.phones.map((p) => p.e164).join(', ')));
  return id;
}

export function createContact(db: Db, c: NewContact): Promise<number> {
  return inTransaction(db, (trx) => insertContact(trx, c));
}

async function withPhones(db: Db, contacts: Contact[]): Promise<ContactWithPhones[]> {
  const phones = await phonesOf(
    db,
    contacts.map((c) => c.id),
  );
  return contacts.map((c) => ({ ...c, phone_numbers: phones.get(c.id) ?? [] }));
}

export async function getContact(db: Db, id: number): Promise<ContactWithPhones | undefined> {
  const row = await db.selectFrom('contacts').selectAll().where('id', '=', id).executeTakeFirst();
  return row && (await withPhones(db, [row]))[0];
}

export interface ContactFilters {
  search?: string;
  /** The contact has every one of these tags. */
  tags?: string[];
  company?: string;
  optIn?: boolean;
  skip: number;
  limit: number;
}

function listBase(db: Db, f: ContactFilters) {
  let q = db.selectFrom('contacts as c');
  if (f.search) {
    const like = likePattern(f.search);
    // Only a search that looks like a number is matched against numbers: "john2" must not find every phone with a 2.
    const digits = /^[\d\s+\-().]+$/.test(f.search) ? f.search.replace(/\D/g, '') : '';
    q = q.where((eb) =>
      eb.or([
        eb(sql<string>`concat_ws(' ', c.first_name, c.last_name)`, 'ilike', like),
        eb('c.email', 'ilike', like),
        eb('c.company', 'ilike', like),
        ...(digits.length >= 3
          ? [
              eb.exists(
                eb.selectFrom('contact_phone_numbers as p').select('p.id').whereRef('p.contact_id', '=', 'c.id').where('p.wa_id', 'like', likePattern(digits)),
              ),
            ]
          : []),
      ]),
    );
  }
  if (f.tags?.length) q = q.where('c.tags', '@>', sql<string[]>`${f.tags}::text[]`);
  if (f.company) q = q.where('c.company', 'ilike', likePattern(f.company));
  if (f.optIn !== undefined) q = q.where('c.opt_in_status', '=', f.optIn);
  return q;
}

/** Oldest first, so skip/limit pages stay put while contacts are added. */
export async function listContacts(db: Db, f: ContactFilters) {
  const [rows, total] = await Promise.all([
    listBase(db, f).selectAll('c').orderBy('c.id').offset(f.skip).limit(f.limit).execute(),
    listBase(db, f)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows: await withPhones(db, rows), total: Number(total.n) };
}

/** Fields left undefined stay; tags and attributes are replaced. False: no such contact. */
export function updateContact(db: Db, id: number, p: ContactPatch): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const row = await trx
      .updateTable('contacts')
      .set({
        ...p.fields,
        ...(p.tags ? { tags: p.tags } : {}),
        ...(p.attributes ? { attributes: JSON.stringify(p.attributes) } : {}),
        updated_at: new Date(),
      })
      .where('id', '=', id)
      .returning('opt_in_status')
      .executeTakeFirst();
    if (!row) return false;
    // An edit form's "not opted in" withdraws consent that was given; it does not mark someone never asked as opted out.
    if (p.opt && (p.opt.optIn || row.opt_in_status)) await setOptIn(trx, id, p.opt.optIn, p.opt);
    return true;
  });
}

export async function deleteContact(db: Db, id: number): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    // An opt-out outlives the contact: it is kept by number (see insertContact).
    await sql`
      insert into opt_out_suppressions (wa_id, opted_out_at, source, reason)
      select p.wa_id, c.opted_out_at, c.opt_out_source, c.opt_out_reason
      from contacts c join contact_phone_numbers p on p.contact_id = c.id
      where c.id = ${id} and not c.opt_in_status and c.opted_out_at is not null
      on conflict (wa_id) do nothing`.execute(trx);
    const res = await trx.deleteFrom('contacts').where('id', '=', id).executeTakeFirst();
    return res.numDeletedRows > 0n;
  });
}

/** Records consent once: asking again for the state a contact is already in changes nothing. Undefined: no such contact. */
export function setOptIn(db: Db, id: number, optIn: boolean, o: OptChange): Promise<{ changed: boolean } | undefined> {
  return inTransaction(db, async (trx) => {
    const c = await trx.selectFrom('contacts').select(['opt_in_status', 'opted_out_at']).where('id', '=', id).forUpdate().executeTakeFirst();
    if (!c) return undefined;
    if (optState(c) === (optIn ? 'in' : 'out')) return { changed: false };
    await trx
      .updateTable('contacts')
      .set({ ...optColumns(optIn, o), updated_at: new Date() })
      .where('id', '=', id)
      .execute();
    return { changed: true };
  });
}

export async function findContactByWaId(db: Db, waId: string): Promise<Contact | undefined> {
  return db
    .selectFrom('contacts as c')
    .innerJoin('contact_phone_numbers as p', 'p.contact_id', 'c.id')
    .selectAll('c')
    .where('p.wa_id', '=', waId)
    .executeTakeFirst();
}

/**
 * Consent given or withdrawn in the chat ("STOP", a campaign's opt-in reply). A number we have never
 * seen gets a contact of its own, so the choice is remembered when a campaign later targets it.
 */
export async function setOptInByWaId(
  db: Db,
  waId: string,
  optIn: boolean,
  opts: { source: string; reason?: string; at: Date; name?: string },
): Promise<{ contactId: number; changed: boolean }> {
  if (!/^\d{6,15}$/.test(waId)) throw new Error(`Not a WhatsApp id: ${waId}`);
  const attempt = () =>
    inTransaction(db, async (trx) => {
      const owner = await trx.selectFrom('contact_phone_numbers').select('contact_id').where('wa_id', '=', waId).executeTakeFirst();
      const existing = owner && (await setOptIn(trx, owner.contact_id, optIn, opts));
      if (owner && existing) return { contactId: owner.contact_id, changed: existing.changed };
      const contactId = await insertContact(trx, {
        fields: { first_name: opts.name ?? null },
        opt: { ...opts, optIn },
        phones: [{ e164: `+${waId}`, waId, isPrimary: true }],
      });
      return { contactId, changed: true };
    });
  try {
    return await attempt();
  } catch (err) {
    // Two first messages from one new number raced to create its contact; the loser now finds the winner's.
    if (!db.isTransaction && (err instanceof ContactConflict || isUniqueViolation(err))) return attempt();
    throw err;
  }
}
