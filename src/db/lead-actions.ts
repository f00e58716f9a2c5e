import type { Updateable } from 'kysely';
import { inTransaction, type Db } from './database';
import { findOpenLeadForContact, isClosed, LeadConflict, lockLead, recordAssignment, recordLeadActivity, recordStatusChange, statusColumns } from './leads';
import type { Lead, LeadsTable, LeadStatus } from './schema';

/** Runs fn on the locked lead in a transaction; undefined when there is no such lead. */
function withLead<T>(db: Db, id: number, fn: (trx: Db, lead: Lead, now: Date) => Promise<T>): Promise<T | undefined> {
  return inTransaction(db, async (trx) => {
    const lead = await lockLead(trx, id);
    return lead ? fn(trx, lead, new Date()) : undefined;
  });
}

const update = (trx: Db, id: number, values: Updateable<LeadsTable>): Promise<Lead> =>
  trx.updateTable('leads').set(values).where('id', '=', id).returningAll().executeTakeFirstOrThrow();

const refuseClosed = (lead: Lead, action: string) => {
  if (isClosed(lead.status))
    throw new LeadConflict(`Lead ${lead.id} is already ${lead.status}; it cannot be ${action}`, { lead_id: lead.id, status: lead.status });
};

/** Null unassigns. Assigning to whoever already has it changes nothing and records nothing. */
export function assignLead(db: Db, id: number, assignee: string | null, actor: string | null) {
  return withLead(db, id, async (trx, lead, now) => {
    if (lead.assigned_to === assignee) return lead;
    const updated = await update(trx, id, { assigned_to: assignee, updated_at: now });
    await recordAssignment(trx, id, lead.assigned_to, assignee, actor);
    return updated;
  });
}

/** Someone spoke to the lead: a new lead moves on to contacted. */
export function markLeadContacted(db: Db, id: number, note: string | null, actor: string | null) {
  return withLead(db, id, async (trx, lead, now) => {
    const moves = lead.status === 'new';
    const updated = await update(trx, id, { last_contacted_at: now, ...(moves ? { status: 'contacted' } : {}), updated_at: now });
    await recordLeadActivity(
      trx,
      id,
      'contacted',
      note ? `Contacted: ${note}` : 'Contacted',
      { note, ...(moves ? { from: lead.status, to: 'contacted' } : {}) },
      actor,
    );
    return updated;
  });
}

export function setLeadScore(db: Db, id: number, score: number, reason: string | null, actor: string | null) {
  return withLead(db, id, async (trx, lead, now) => {
    if (lead.lead_score === score) return lead;
    const updated = await update(trx, id, { lead_score: score, updated_at: now });
    const why = reason ? ` (${reason})` : '';
    await recordLeadActivity(trx, id, 'score_changed', `Score ${lead.lead_score} → ${score}${why}`, { from: lead.lead_score, to: score, reason }, actor);
    return updated;
  });
}

/** Won. A closed lead (won or lost) is a conflict: reopen it with a status change first. */
export function convertLead(db: Db, id: number, note: string | null, actor: string | null) {
  return withLead(db, id, async (trx, lead, now) => {
    refuseClosed(lead, 'converted');
    const updated = await update(trx, id, { ...statusColumns('won', now), updated_at: now });
    await recordLeadActivity(trx, id, 'converted', note ? `Converted: ${note}` : 'Converted (won)', { from: lead.status, to: 'won', note }, actor);
    return updated;
  });
}

export function closeLeadLost(db: Db, id: number, reason: string, actor: string | null) {
  return withLead(db, id, async (trx, lead, now) => {
    refuseClosed(lead, 'closed as lost');
    const updated = await update(trx, id, { ...statusColumns('lost', now), lost_reason: reason, updated_at: now });
    await recordLeadActivity(trx, id, 'lost', `Closed as lost: ${reason}`, { from: lead.status, to: 'lost', reason }, actor);
    return updated;
  });
}

export interface BulkResult {
  /** Leads that changed. */
  updated: number;
  /** Leads already in the requested state. */
  unchanged: number;
  not_found: number[];
}

/** Locks the named leads in id order (so two bulk calls cannot deadlock) and applies change to each. */
function bulk(db: Db, ids: number[], change: (trx: Db, lead: Lead, now: Date) => Promise<boolean>): Promise<BulkResult> {
  return inTransaction(db, async (trx) => {
    const leads = await trx.selectFrom('leads').selectAll().where('id', 'in', ids).orderBy('id').forUpdate().execute();
    const found = new Set(leads.map((l) => l.id));
    const now = new Date();
    let updated = 0;
    for (const lead of leads) if (await change(trx, lead, now)) updated++;
    return { updated, unchanged: leads.length - updated, not_found: ids.filter((id) => !found.has(id)) };
  });
}

export function bulkAssignLeads(db: Db, ids: number[], assignee: string | null, actor: string | null) {
  return bulk(db, ids, async (trx, lead, now) => {
    if (lead.assigned_to === assignee) return false;
    await update(trx, lead.id, { assigned_to: assignee, updated_at: now });
    await recordAssignment(trx, lead.id, lead.assigned_to, assignee, actor);
    return true;
  });
}

/** All or nothing: reopening a lead whose contact already has another open one fails the whole batch. */
export function bulkUpdateLeadStatus(db: Db, ids: number[], status: LeadStatus, actor: string | null) {
  return bulk(db, ids, async (trx, lead, now) => {
    if (lead.status === status) return false;
    if (isClosed(lead.status) && !isClosed(status)) {
      const other = await findOpenLeadForContact(trx, lead.contact_id);
      if (other) {
        throw new LeadConflict(`Lead ${lead.id} cannot be reopened: contact ${lead.contact_id} already has open lead ${other.id}`, {
          lead_id: lead.id,
          contact_id: lead.contact_id,
          open_lead_id: other.id,
        });
      }
    }
    await update(trx, lead.id, { ...statusColumns(status, now), updated_at: now });
    await recordStatusChange(trx, lead.id, lead.status, status, actor, { bulk: true });
    return true;
  });
}
