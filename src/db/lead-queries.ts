import { sql, type ExpressionBuilder } from 'kysely';
import { likePattern } from './like';
import type { Db } from './database';
import { CLOSED_STATUSES } from './leads';
import type { Database, Lead, LeadPriority, LeadStatus } from './schema';

export interface LeadFilters {
  status?: LeadStatus;
  priority?: LeadPriority;
  source?: string;
  assignedTo?: string;
  contactId?: number;
  campaignId?: number;
  /** Substring of the title or description. */
  search?: string;
  minScore?: number;
  skip: number;
  limit: number;
}

/** The named lists of seed 004; each is a filter plus an order that puts what needs doing first. */
export type LeadList = 'all' | 'high_priority' | 'overdue';

const open = (eb: ExpressionBuilder<Database, 'leads'>) => eb('status', 'not in', CLOSED_STATUSES);
/** Marked overdue by the follow-up workflow, or its follow-up time has passed already. */
const overdue = (eb: ExpressionBuilder<Database, 'leads'>) =>
  eb.and([open(eb), eb.or([eb('overdue_since', 'is not', null), eb('next_follow_up_at', '<', sql<Date>`now()`)])]);

function listBase(db: Db, f: LeadFilters, list: LeadList) {
  let q = db.selectFrom('leads');
  if (f.status) q = q.where('status', '=', f.status);
  if (f.priority) q = q.where('priority', '=', f.priority);
  if (f.source) q = q.where('source', '=', f.source);
  if (f.assignedTo) q = q.where('assigned_to', '=', f.assignedTo);
  if (f.contactId) q = q.where('contact_id', '=', f.contactId);
  if (f.campaignId) q = q.where('campaign_id', '=', f.campaignId);
  if (f.minScore !== undefined) q = q.where('lead_score', '>=', f.minScore);
  if (f.search) {
    const like = likePattern(f.search);
    q = q.where((eb) => eb.or([eb('title', 'ilike', like), eb('description', 'ilike', like)]));
  }
  if (list === 'high_priority') q = q.where('priority', 'in', ['high', 'urgent']).where(open);
  if (list === 'overdue') q = q.where(overdue);
  return q;
}

export async function listLeads(db: Db, f: LeadFilters, list: LeadList = 'all'): Promise<{ rows: Lead[]; total: number }> {
  let rows = listBase(db, f, list).selectAll();
  if (list === 'high_priority') {
    rows = rows.orderBy(sql`case priority when 'urgent' then 0 else 1 end`).orderBy('lead_score', 'desc');
  } else if (list === 'overdue') {
    // Longest overdue first.
    rows = rows.orderBy(sql`least(overdue_since, next_follow_up_at)`);
  }
  const [page, count] = await Promise.all([
    rows.orderBy('id', 'desc').offset(f.skip).limit(f.limit).execute(),
    listBase(db, f, list)
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow(),
  ]);
  return { rows: page, total: Number(count.n) };
}

export interface LeadContact {
  id: number;
  name: string | null;
  first_name: string | null;
  last_name: string | null;
  company: string | null;
  email: string | null;
  phone_number: string | null;
  wa_id: string | null;
}

/** Who each lead is about (name and primary number), by contact id. */
export async function leadContacts(db: Db, contactIds: number[]): Promise<Map<number, LeadContact>> {
  if (contactIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('contacts as c')
    .leftJoin('contact_phone_numbers as p', (j) => j.onRef('p.contact_id', '=', 'c.id').on('p.is_primary', '=', true))
    .select([
      'c.id',
      sql<string | null>`nullif(concat_ws(' ', c.first_name, c.last_name), '')`.as('name'),
      'c.first_name',
      'c.last_name',
      'c.company',
      'c.email',
      'p.phone_number',
      'p.wa_id',
    ])
    .where('c.id', 'in', [...new Set(contactIds)])
    .execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/** Oldest first: the lead's story in the order it happened. */
export async function listLeadActivities(db: Db, leadId: number, skip: number, limit: number) {
  const base = db.selectFrom('lead_activities').where('lead_id', '=', leadId);
  const [rows, count] = await Promise.all([
    base.selectAll().orderBy('id').offset(skip).limit(limit).execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { rows, total: Number(count.n) };
}
