import { sql, type Updateable } from 'kysely';
import { inTransaction, type Db } from './database';
import { PG_FOREIGN_KEY_VIOLATION, pgError } from './pg-errors';
import type { Lead, LeadActivity, LeadActivityType, LeadPriority, LeadsTable, LeadStatus } from './schema';

export const LEAD_STATUSES = ['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost'] as const satisfies readonly LeadStatus[];
export const CLOSED_STATUSES = ['won', 'lost'] as const satisfies readonly LeadStatus[];
export const LEAD_PRIORITIES = ['low', 'medium', 'high', 'urgent'] as const satisfies readonly LeadPriority[];
export const isClosed = (s: LeadStatus) => s === 'won' || s === 'lost';

/** A lead rule would be broken: a second open lead for a contact, or closing a lead that is already closed. */
export class LeadConflict extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
  }
}

/** A contact, campaign or template the lead names does not exist. */
export class LeadReferenceError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns the foreign keys' verdict into a 400 naming the field, instead of a 500. */
export function rethrowMissingReference(values: Record<string, unknown>): (err: unknown) => never {
  return (err) => {
    const { code, constraint } = pgError(err);
    const field = code === PG_FOREIGN_KEY_VIOLATION ? /^leads_(\w+)_fkey$/.exec(constraint ?? '')?.[1] : undefined;
    if (field) throw new LeadReferenceError(field, `${field}: ${field.replace(/_id$/, '')} ${String(values[field])} does not exist`);
    throw err;
  };
}

export async function getLead(db: Db, id: number): Promise<Lead | undefined> {
  return db.selectFrom('leads').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Locks the lead for the rest of the caller's transaction. */
export function lockLead(trx: Db, id: number): Promise<Lead | undefined> {
  return trx.selectFrom('leads').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function findOpenLeadForContact(db: Db, contactId: number): Promise<Lead | undefined> {
  return db.selectFrom('leads').selectAll().where('contact_id', '=', contactId).where('status', 'not in', CLOSED_STATUSES).executeTakeFirst();
}

export async function recordLeadActivity(
  db: Db,
  leadId: number,
  type: LeadActivityType,
  description: string,
  metadata?: Record<string, unknown> | null,
  actor?: string | null,
): Promise<LeadActivity> {
  return db
    .insertInto('lead_activities')
    .values({ lead_id: leadId, type, description, metadata: metadata ? JSON.stringify(metadata) : null, actor: actor ?? null })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/**
 * For writers that may run twice (activities): with a `key`, an entry is written once however
 * often it is asked for, and a lead deleted meanwhile makes it a no-op rather than an error.
 */
export async function recordLeadActivityOnce(
  db: Db,
  leadId: number,
  type: LeadActivityType,
  description: string,
  opts: { key?: string; metadata?: Record<string, unknown>; actor?: string } = {},
): Promise<void> {
  const key = opts.key ?? null;
  const metadata = JSON.stringify(key ? { ...opts.metadata, key } : (opts.metadata ?? {}));
  await sql`
    insert into lead_activities (lead_id, type, description, metadata, actor)
    select ${leadId}, ${type}, ${description}, ${metadata}::jsonb, ${opts.actor ?? null}
    where exists (select 1 from leads where id = ${leadId})
      and (${key}::text is null or not exists (
        select 1 from lead_activities where lead_id = ${leadId} and metadata->>'key' = ${key}::text))`.execute(db);
}

export interface NewLead {
  contact_id: number;
  title: string;
  campaign_id?: number | null;
  description?: string | null;
  status?: LeadStatus;
  priority?: LeadPriority;
  source?: string;
  estimated_value?: string | number | null;
  probability?: number | null;
  lead_score?: number;
  assigned_to?: string | null;
}

/** Timestamps that follow the status: closing stamps them, reopening clears them. */
export function statusColumns(to: LeadStatus, now: Date): Updateable<LeadsTable> {
  if (to === 'won') return { status: to, converted_at: now, closed_at: now, lost_reason: null };
  if (to === 'lost') return { status: to, converted_at: null, closed_at: now };
  return { status: to, converted_at: null, closed_at: null, lost_reason: null };
}

/**
 * Inserts the lead unless the contact already has an open one: then undefined and nothing written.
 * (ON CONFLICT against the partial index, so a caller's transaction is never aborted by the race.)
 */
async function insertLead(trx: Db, input: NewLead, actor: string | null): Promise<Lead | undefined> {
  const now = new Date();
  const status = input.status ?? 'new';
  const lead = await trx
    .insertInto('leads')
    .values({ ...input, ...(isClosed(status) ? statusColumns(status, now) : {}), created_by: actor, created_at: now, updated_at: now })
    // Literal predicate: the index is inferred when the statement is planned, where a bound parameter would not match it.
    .onConflict((oc) =>
      oc
        .column('contact_id')
        .where(sql<boolean>`status not in ('won', 'lost')`)
        .doNothing(),
    )
    .returningAll()
    .executeTakeFirst()
    .catch(rethrowMissingReference({ ...input }));
  if (!lead) return undefined;
  await recordLeadActivity(
    trx,
    lead.id,
    'created',
    `Lead "${lead.title}" created`,
    { status: lead.status, priority: lead.priority, source: lead.source, assigned_to: lead.assigned_to, campaign_id: lead.campaign_id },
    actor,
  );
  return lead;
}

export const openLeadExists = (existing: Lead | undefined, contactId: number) =>
  new LeadConflict(`Contact ${contactId} already has an open lead${existing ? ` (${existing.id})` : ''}`, {
    contact_id: contactId,
    lead_id: existing?.id ?? null,
  });

/** Creates a lead with its "created" activity; a contact's second open lead is a conflict. */
export function createLead(db: Db, input: NewLead, actor: string | null = null): Promise<Lead> {
  return inTransaction(db, async (trx) => {
    const lead = await insertLead(trx, input, actor);
    if (lead) return lead;
    throw openLeadExists(await findOpenLeadForContact(trx, input.contact_id), input.contact_id);
  });
}

/**
 * For the workflows (campaign reply, chat): the contact's open lead, created when there is none.
 * Safe to retry: a second call finds the lead the first one made.
 */
export async function createLeadForContact(
  db: Db,
  args: {
    contactId: number;
    campaignId?: number | null;
    title: string;
    source: string;
    description?: string | null;
    score?: number;
    actor?: string | null;
    /** The business number its follow-ups go out from (the chat's or campaign's); default the default number. */
    numberId?: number;
  },
): Promise<{ lead: Lead; created: boolean }> {
  return inTransaction(db, async (trx) => {
    const existing = await findOpenLeadForContact(trx, args.contactId);
    if (existing) return { lead: existing, created: false };
    const lead = await insertLead(
      trx,
      {
        contact_id: args.contactId,
        campaign_id: args.campaignId ?? null,
        title: args.title,
        source: args.source,
        description: args.description ?? null,
        lead_score: args.score,
        ...(args.numberId !== undefined ? { number_id: args.numberId } : {}),
      },
      args.actor ?? 'system',
    );
    if (lead) return { lead, created: true };
    // Another writer created it between the look and the insert.
    const winner = await findOpenLeadForContact(trx, args.contactId);
    if (!winner) throw new Error(`open lead for contact ${args.contactId} vanished`);
    return { lead: winner, created: false };
  });
}

/** Every status change records from/to, which the conversion funnel reads back. */
export function recordStatusChange(trx: Db, leadId: number, from: LeadStatus, to: LeadStatus, actor: string | null, extra?: Record<string, unknown>) {
  return recordLeadActivity(trx, leadId, 'status_changed', `Status ${from} → ${to}`, { from, to, ...extra }, actor);
}

export function recordAssignment(trx: Db, leadId: number, from: string | null, to: string | null, actor: string | null) {
  return recordLeadActivity(trx, leadId, 'assigned', to ? `Assigned to ${to}` : 'Unassigned', { from, to }, actor);
}

export async function deleteLead(db: Db, id: number): Promise<boolean> {
  const res = await db.deleteFrom('leads').where('id', '=', id).executeTakeFirst();
  return res.numDeletedRows > 0n;
}
