import { sql } from 'kysely';
import type { ImportContact, ImportRowError } from '../contacts/import';
import { ContactConflict } from './contact-phones';
import { isUniqueViolation } from './pg-errors';
import { CONTACT_TEXT_FIELDS, optColumns, optState } from './contacts';
import type { Db } from './database';

export interface ImportOutcome {
  created: number;
  updated: number;
  errors: ImportRowError[];
  /** Rows that asked to opt in a contact who had explicitly opted out: the contact stays opted out. */
  keptOptedOut: { row: number; phone: string; contact_id: number }[];
}

const CHUNK_ROWS = 500;
const SOURCE = 'import';

/** Errors that belong to one row (its number taken meanwhile, a value Postgres refuses), not to the database. */
const isRowError = (err: unknown) => err instanceof ContactConflict || isUniqueViolation(err) || /^22/.test((err as { code?: string } | null)?.code ?? '');

/**
 * Writes validated rows, one transaction per chunk. A row whose number is known updates that contact
 * (so a re-import creates nothing twice); any other row creates a contact. When a chunk fails because
 * of one row, its rows are written one by one so the others still land and the culprit is reported.
 */
export async function importContacts(db: Db, rows: ImportContact[], at = new Date()): Promise<ImportOutcome> {
  const out: ImportOutcome = { created: 0, updated: 0, errors: [], keptOptedOut: [] };
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    const chunk = rows.slice(i, i + CHUNK_ROWS);
    try {
      add(out, await db.transaction().execute((trx) => writeChunk(trx, chunk, at)));
    } catch (err) {
      if (!isRowError(err)) throw err;
      for (const row of chunk) {
        try {
          add(out, await db.transaction().execute((trx) => writeChunk(trx, [row], at)));
        } catch (rowErr) {
          if (!isRowError(rowErr)) throw rowErr;
          const reason = rowErr instanceof ContactConflict ? rowErr.message : `Could not be saved: ${(rowErr as Error).message}`;
          out.errors.push({ row: row.row, phone: row.phone, reason });
        }
      }
    }
  }
  return out;
}

function add(out: ImportOutcome, part: Omit<ImportOutcome, 'errors'>) {
  out.created += part.created;
  out.updated += part.updated;
  out.keptOptedOut.push(...part.keptOptedOut);
}

async function writeChunk(trx: Db, rows: ImportContact[], at: Date): Promise<Omit<ImportOutcome, 'errors'>> {
  // Locking the owners keeps a concurrent opt-out from slipping between this read and the update.
  const owners = await trx
    .selectFrom('contact_phone_numbers as p')
    .innerJoin('contacts as c', 'c.id', 'p.contact_id')
    .select(['p.wa_id', 'c.id', 'c.opt_in_status', 'c.opted_out_at'])
    .where(
      'p.wa_id',
      'in',
      rows.map((r) => r.waId),
    )
    .forUpdate()
    .execute();
  const ownerOf = new Map(owners.map((o) => [o.wa_id, o]));
  const fresh = rows.filter((r) => !ownerOf.has(r.waId));
  const known = rows.filter((r) => ownerOf.has(r.waId));

  const keptOptedOut: ImportOutcome['keptOptedOut'] = [];
  const updates = known.map((r) => {
    const owner = ownerOf.get(r.waId)!;
    const state = optState(owner);
    if (r.optIn && state === 'out') keptOptedOut.push({ row: r.row, phone: r.phone, contact_id: owner.id });
    // Only "yes" on a contact never asked changes consent: a list's "no" is not the person withdrawing it.
    return { ...r, id: owner.id, optIn: r.optIn === true && state === 'never' };
  });
  const suppressed = await insertFresh(trx, fresh, at);
  for (const r of suppressed) keptOptedOut.push({ row: r.row, phone: r.phone, contact_id: r.id });
  await updateKnown(trx, updates, at);
  return { created: fresh.length, updated: known.length, keptOptedOut };
}

/** Returns the rows whose number had opted out under a contact since deleted: they stay opted out. */
async function insertFresh(trx: Db, rows: ImportContact[], at: Date): Promise<(ImportContact & { id: number })[]> {
  if (rows.length === 0) return [];
  const suppressions = await trx
    .deleteFrom('opt_out_suppressions')
    .where(
      'wa_id',
      'in',
      rows.map((r) => r.waId),
    )
    .returningAll()
    .execute();
  const optOutOf = new Map(suppressions.map((s) => [s.wa_id, s]));
  // Ids drawn up front tie each phone to its contact without relying on the order RETURNING gives.
  const { rows: ids } = await sql<{ id: number }>`select nextval(pg_get_serial_sequence('contacts', 'id'))::int as id
    from generate_series(1, ${rows.length})`.execute(trx);
  const withIds = rows.map((r, i) => ({ ...r, id: ids[i]!.id }));
  await trx
    .insertInto('contacts')
    .values(
      withIds.map((r) => ({
        id: r.id,
        ...r.fields,
        tags: r.tags,
        attributes: JSON.stringify(r.attributes),
        ...optInColumns(r, optOutOf.get(r.waId), at),
      })),
    )
    .execute();
  await trx
    .insertInto('contact_phone_numbers')
    .values(withIds.map((r) => ({ contact_id: r.id, phone_number: r.e164, wa_id: r.waId, is_primary: true })))
    .execute();
  return withIds.filter((r) => r.optIn === true && optOutOf.has(r.waId));
}

function optInColumns(r: ImportContact, suppression: { opted_out_at: Date; source: string | null; reason: string | null } | undefined, at: Date) {
  if (suppression) {
    return optColumns(false, { at: new Date(suppression.opted_out_at), source: suppression.source ?? 'suppression', reason: suppression.reason ?? undefined });
  }
  return r.optIn === true ? optColumns(true, { source: SOURCE, at }) : {};
}

type Update = ImportContact & { id: number; optIn: boolean };

/** One statement per round: values given replace, blanks keep, tags and attributes merge. */
async function updateKnown(trx: Db, updates: Update[], at: Date): Promise<void> {
  let pending = updates;
  while (pending.length > 0) {
    // Two numbers of one contact in one file: an UPDATE ... FROM applies only one row per contact, so take turns.
    const seen = new Set<number>();
    const round = pending.filter((u) => !seen.has(u.id) && seen.add(u.id));
    pending = pending.filter((u) => !round.includes(u));
    const values = JSON.stringify(round.map((u) => ({ id: u.id, ...u.fields, tags: u.tags, attributes: u.attributes, opt_in: u.optIn })));
    const sets = CONTACT_TEXT_FIELDS.map((f) => sql`${sql.ref(f)} = coalesce(${sql.ref(`v.${f}`)}, ${sql.ref(`c.${f}`)})`);
    await sql`update contacts c set ${sql.join(sets)},
        tags = c.tags || array(select t from unnest(v.tags) t where t <> all(c.tags)),
        attributes = c.attributes || v.attributes,
        opt_in_status = c.opt_in_status or v.opt_in,
        opted_in_at = case when v.opt_in then ${at} else c.opted_in_at end,
        opt_in_source = case when v.opt_in then ${SOURCE} else c.opt_in_source end,
        updated_at = now()
      from jsonb_to_recordset(${values}::jsonb) as v(id int, first_name text, last_name text, email text, company text,
        job_title text, notes text, tags text[], attributes jsonb, opt_in boolean)
      where c.id = v.id`.execute(trx);
  }
}
