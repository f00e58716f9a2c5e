import type { ErrorRequestHandler, Request } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/database';
import { leadContacts, type LeadContact } from '../../db/lead-queries';
import { LEAD_PRIORITIES, LEAD_STATUSES, LeadConflict, LeadReferenceError, getLead } from '../../db/leads';
import type { Lead } from '../../db/schema';
import { HttpError } from '../errors';
import { requireId } from '../ids';

const status = z.enum(LEAD_STATUSES);
const priority = z.enum(LEAD_PRIORITIES);
const score = z.number().int().min(0).max(100);
const person = z.string().trim().min(1).max(200);
const id = z.number().int().positive().max(2_147_483_647);
// numeric(14,2): up to twelve digits before the point.
const MAX_VALUE = 999_999_999_999.99;
const estimatedValue = z.union([
  z.number().min(0).max(MAX_VALUE),
  z
    .string()
    .trim()
    .regex(/^\d{1,12}(\.\d{1,2})?$/, 'must be a non-negative amount with at most two decimals, such as "25000.00"'),
]);

// No defaults here: an update must leave out what it does not name (defaults belong to create).
const Fields = z.object({
  title: z.string().trim().min(1).max(300),
  description: z.string().max(5000).nullish(),
  status,
  priority,
  source: z.string().trim().min(1).max(100),
  estimated_value: estimatedValue.nullish(),
  probability: score.nullish(),
  lead_score: score,
  assigned_to: person.nullish(),
  campaign_id: id.nullish(),
});

export const CreateLeadBody = Fields.extend({
  contact_id: id,
  status: status.default('new'),
  priority: priority.default('medium'),
  source: Fields.shape.source.default('api'),
  lead_score: score.default(0),
});

export const UpdateLeadBody = Fields.extend({ contact_id: id, lost_reason: z.string().trim().min(1).max(1000).nullish() })
  .partial()
  .refine((o) => Object.values(o).some((v) => v !== undefined), 'nothing to update');

const paging = {
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
};
const queryId = z.coerce.number().int().positive().max(2_147_483_647).optional();

export const LeadListQuery = z.object({
  status: status.optional(),
  priority: priority.optional(),
  source: z.string().trim().max(100).optional(),
  assigned_to: z.string().trim().max(200).optional(),
  contact_id: queryId,
  campaign_id: queryId,
  search: z.string().trim().max(200).optional(),
  min_score: z.coerce.number().int().min(0).max(100).optional(),
  ...paging,
});

export const PagingQuery = z.object(paging);

export const StatsQuery = z.object({
  source: z.string().trim().max(100).optional(),
  campaign_id: queryId,
  assigned_to: z.string().trim().max(200).optional(),
});

const note = z.string().trim().max(2000).nullish();
export const AssignBody = z.object({ assigned_to: person.nullable() });
export const ContactedBody = z.object({ note });
export const ScoreBody = z.object({ lead_score: score, reason: note });
export const ConvertBody = z.object({ note });
export const CloseLostBody = z.object({ reason: z.string().trim().min(1).max(1000) });

const leadIds = z
  .array(id)
  .min(1)
  .max(1000)
  .transform((ids) => [...new Set(ids)]);
export const BulkAssignBody = z.object({ lead_ids: leadIds, assigned_to: person.nullable() });
export const BulkStatusBody = z.object({ lead_ids: leadIds, status });

export type LeadView = Lead & { contact: LeadContact | null };

/** Leads with who they are about: name and primary WhatsApp number. */
export async function leadViews(db: Db, leads: Lead[]): Promise<LeadView[]> {
  const contacts = await leadContacts(
    db,
    leads.map((l) => l.contact_id),
  );
  return leads.map((l) => ({ ...l, contact: contacts.get(l.contact_id) ?? null }));
}

export async function leadView(db: Db, lead: Lead): Promise<LeadView> {
  return (await leadViews(db, [lead]))[0]!;
}

/** The :id of the path, or a 404 when it names no lead. */
export async function requireLead(db: Db, req: Request): Promise<Lead> {
  const leadId = requireId(req.params.id, 'Lead');
  const lead = await getLead(db, leadId);
  if (!lead) throw notFound(leadId);
  return lead;
}

export const notFound = (leadId: number | string) => new HttpError('NOT_FOUND', `Lead ${leadId} not found`);

/** The lead rules' refusals, in the spec's error format. */
export const leadErrors: ErrorRequestHandler = (err, _req, _res, next) => {
  if (err instanceof LeadConflict) return next(new HttpError('CONFLICT', err.message, err.details));
  if (err instanceof LeadReferenceError) return next(new HttpError('VALIDATION_ERROR', err.message, [{ field: err.field, reason: err.message }]));
  next(err);
};
