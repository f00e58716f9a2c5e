import { sql, type RawBuilder } from 'kysely';
import { z } from 'zod';
import type { Db } from './database';

/** Who a campaign goes to. Whatever the filters, only opted-in contacts with a primary number. */
export const AudienceSchema = z
  .object({
    tags: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    tags_match: z.enum(['any', 'all']).default('any'),
    exclude_tags: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
    company: z.string().trim().min(1).max(200).optional(),
    contact_ids: z.array(z.number().int().positive()).max(10_000).optional(),
  })
  .strict();
export type Audience = z.infer<typeof AudienceSchema>;

/** The audience as one SQL condition over `contacts` (opt-in included, so it can never be left out). */
export function audienceCondition(audience: Audience): RawBuilder<boolean> {
  const parts: RawBuilder<unknown>[] = [sql`contacts.opt_in_status`];
  if (audience.tags?.length) {
    const op = audience.tags_match === 'all' ? sql.raw('@>') : sql.raw('&&');
    parts.push(sql`contacts.tags ${op} ${audience.tags}::text[]`);
  }
  if (audience.exclude_tags?.length) parts.push(sql`not (contacts.tags && ${audience.exclude_tags}::text[])`);
  if (audience.company) parts.push(sql`lower(contacts.company) = lower(${audience.company})`);
  if (audience.contact_ids?.length) parts.push(sql`contacts.id = any(${audience.contact_ids}::int[])`);
  return sql<boolean>`(${sql.join(parts, sql` and `)})`;
}

export async function countAudience(db: Db, audience: Audience): Promise<number> {
  const row = await db
    .selectFrom('contacts')
    .innerJoin('contact_phone_numbers', (j) =>
      j.onRef('contact_phone_numbers.contact_id', '=', 'contacts.id').on('contact_phone_numbers.is_primary', '=', true),
    )
    .where(audienceCondition(audience))
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export interface AudienceMember {
  contact_id: number;
  wa_id: string;
  phone_number: string;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
  job_title: string | null;
  attributes: Record<string, unknown>;
  last_inbound_at: Date | null;
}

/** Contacts with their primary number and the 24 h window of that number's chat: what a send needs. */
function members(db: Db, numberId: number) {
  return db
    .selectFrom('contacts')
    .innerJoin('contact_phone_numbers', (j) =>
      j.onRef('contact_phone_numbers.contact_id', '=', 'contacts.id').on('contact_phone_numbers.is_primary', '=', true),
    )
    .leftJoin('conversations', (j) => j.onRef('conversations.wa_id', '=', 'contact_phone_numbers.wa_id').on('conversations.number_id', '=', numberId))
    .select([
      'contacts.id as contact_id',
      'contact_phone_numbers.wa_id',
      'contact_phone_numbers.phone_number',
      'contacts.first_name',
      'contacts.last_name',
      'contacts.email',
      'contacts.company',
      'contacts.job_title',
      'contacts.attributes',
      'conversations.last_inbound_at',
    ]);
}

/** One contact as a send needs it (a lead's follow-up); undefined when it has no number. */
export function memberOfContact(db: Db, contactId: number, numberId = 1): Promise<AudienceMember | undefined> {
  return members(db, numberId).where('contacts.id', '=', contactId).executeTakeFirst();
}

/** The contact whose primary number this is, as a send needs it; undefined for a number no contact has. */
export function memberByWaId(db: Db, waId: string, numberId = 1): Promise<AudienceMember | undefined> {
  return members(db, numberId).where('contact_phone_numbers.wa_id', '=', waId).orderBy('contacts.id').executeTakeFirst();
}

/**
 * One page of the audience in contact id order (keyset: stable while contacts change), or, with
 * `unconfirmedOf`, only those whose send of that campaign is still unconfirmed.
 */
export async function audiencePage(
  db: Db,
  audience: Audience,
  afterContactId: number,
  limit: number,
  unconfirmedOf?: number,
  /** The campaign's number: the 24 h window is that of the member's chat with it. */
  numberId = 1,
): Promise<AudienceMember[]> {
  let q = members(db, numberId).where(audienceCondition(audience)).where('contacts.id', '>', afterContactId);
  if (unconfirmedOf !== undefined) {
    q = q.where(({ exists, selectFrom }) =>
      exists(
        selectFrom('campaign_recipients as r')
          .select('r.contact_id')
          .whereRef('r.contact_id', '=', 'contacts.id')
          .where('r.campaign_id', '=', unconfirmedOf)
          .where('r.state', '=', 'unconfirmed'),
      ),
    );
  }
  return q.orderBy('contacts.id').limit(limit).execute();
}
