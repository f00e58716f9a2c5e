import { inTransaction, type Db } from './database';
import { isUniqueViolation } from './pg-errors';
import {
  findOpenLeadForContact,
  isClosed,
  lockLead,
  openLeadExists,
  recordAssignment,
  recordLeadActivity,
  recordStatusChange,
  rethrowMissingReference,
  statusColumns,
  type NewLead,
} from './leads';
import type { Lead, LeadStatus } from './schema';

export type LeadPatch = Partial<Omit<NewLead, 'status'>> & { status?: LeadStatus; lost_reason?: string | null };

const TRACKED_FIELDS: (keyof LeadPatch)[] = [
  'title',
  'description',
  'priority',
  'source',
  'estimated_value',
  'probability',
  'campaign_id',
  'contact_id',
  'lost_reason',
];

const same = (a: unknown, b: unknown) => (a === null || a === undefined ? b === null || b === undefined : String(a) === String(b));
const sameMoney = (a: unknown, b: unknown) => (a === null || a === undefined || b === null || b === undefined ? same(a, b) : Number(a) === Number(b));

/** Applies a partial change; status, owner and score changes each get their own activity. Undefined: no such lead. */
export function updateLead(db: Db, id: number, patch: LeadPatch, actor: string | null = null): Promise<Lead | undefined> {
  return inTransaction(db, async (trx) => {
    const current = await lockLead(trx, id);
    if (!current) return undefined;
    const changed = TRACKED_FIELDS.filter((k) => patch[k] !== undefined && !(k === 'estimated_value' ? sameMoney : same)(patch[k], current[k]));
    const statusTo = patch.status !== undefined && patch.status !== current.status ? patch.status : undefined;
    const assignTo = patch.assigned_to !== undefined && !same(patch.assigned_to, current.assigned_to) ? patch.assigned_to : undefined;
    const scoreTo = patch.lead_score !== undefined && patch.lead_score !== current.lead_score ? patch.lead_score : undefined;
    if (!changed.length && statusTo === undefined && assignTo === undefined && scoreTo === undefined) return current;

    const contactId = patch.contact_id ?? current.contact_id;
    const opensLead = statusTo ? !isClosed(statusTo) : !isClosed(current.status);
    if (opensLead && (contactId !== current.contact_id || (statusTo && isClosed(current.status)))) {
      const other = await findOpenLeadForContact(trx, contactId);
      if (other && other.id !== id) throw openLeadExists(other, contactId);
    }
    const now = new Date();
    const { status: _ignored, ...fields } = patch;
    const lead = await trx
      .updateTable('leads')
      .set({
        ...fields,
        ...(statusTo ? statusColumns(statusTo, now) : {}),
        ...(patch.lost_reason !== undefined ? { lost_reason: patch.lost_reason } : {}),
        updated_at: now,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow()
      .catch((err: unknown) => {
        if (isUniqueViolation(err)) throw openLeadExists(undefined, contactId);
        return rethrowMissingReference({ ...patch })(err);
      });

    if (changed.length) {
      await recordLeadActivity(trx, id, 'updated', `Updated ${changed.join(', ')}`, { fields: changed }, actor);
    }
    if (statusTo) await recordStatusChange(trx, id, current.status, statusTo, actor);
    if (assignTo !== undefined) await recordAssignment(trx, id, current.assigned_to, assignTo, actor);
    if (scoreTo !== undefined)
      await recordLeadActivity(trx, id, 'score_changed', `Score ${current.lead_score} → ${scoreTo}`, { from: current.lead_score, to: scoreTo }, actor);
    return lead;
  });
}
