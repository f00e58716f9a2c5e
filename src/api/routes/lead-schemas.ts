import type { ErrorRequestHandler, Request } from 'express';
import { z } from 'zod';
import type { Db } from '../../db/database';
import { leadContacts } from '../../db/lead-queries';
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

export const LeadIdParams = z.object({ id: z.string().describe('lead id') });

// ---- What the routes answer (output schemas: the OpenAPI document is generated from them) ----

const count = z.number().int();
const money = z.string().describe('Exact decimal amount with two decimals, such as "25000.00"');
const percentOf = (what: string) => z.number().describe(`${what}, in percent (0-100, two decimals)`);

export const LeadContactView = z.object({
  id: z.number().int(),
  name: z.string().nullable().describe('First and last name together'),
  first_name: z.string().nullable(),
  last_name: z.string().nullable(),
  company: z.string().nullable(),
  email: z.string().nullable(),
  phone_number: z.string().nullable().describe('Primary number'),
  wa_id: z.string().nullable().describe('WhatsApp id of the primary number'),
});

export const LeadView = z.object({
  id: z.number().int(),
  contact_id: z.number().int(),
  campaign_id: z.number().int().nullable().describe('The campaign it came from'),
  title: z.string(),
  description: z.string().nullable(),
  status: status,
  priority: priority,
  source: z.string().describe('Where it came from: api, campaign, chat, ...'),
  estimated_value: money.nullable(),
  probability: z.number().int().nullable().describe('Chance of winning it, 0-100'),
  lead_score: z.number().int().describe('0-100'),
  assigned_to: z.string().nullable().describe('Who works on it'),
  next_follow_up_at: z.date().nullable().describe('When the scheduled follow-up is due'),
  follow_up_message: z.string().nullable().describe('Text of the follow-up (inside the 24 h window)'),
  follow_up_template_id: z.number().int().nullable().describe('Template of the follow-up (outside the 24 h window)'),
  last_contacted_at: z.date().nullable(),
  last_follow_up_at: z.date().nullable().describe('When the last follow-up was sent'),
  last_reply_at: z.date().nullable().describe('When the contact last wrote'),
  overdue_since: z.date().nullable().describe('Set when a follow-up time passed without one being sent'),
  converted_at: z.date().nullable().describe('When it was won'),
  closed_at: z.date().nullable().describe('When it was won or lost'),
  lost_reason: z.string().nullable(),
  created_by: z.string().nullable().describe('A user email, an API key label or "system" (workflows)'),
  created_at: z.date(),
  updated_at: z.date(),
  contact: LeadContactView.nullable().describe('Who the lead is about'),
});
export type LeadView = z.infer<typeof LeadView>;

export const LeadList = z.object({ leads: z.array(LeadView), total: count, skip: count, limit: count });
export type LeadList = z.infer<typeof LeadList>;
export const AssignedLeadList = LeadList.extend({
  assigned_to: z.string().optional().describe("Whose leads these are: ?assigned_to, else the caller's label (a user's email or an API key's label)"),
});
export type AssignedLeadList = z.infer<typeof AssignedLeadList>;

export const LeadActivityView = z.object({
  id: z.string().describe('Activity id (a 64-bit integer, as a string)'),
  lead_id: z.number().int(),
  type: z.enum([
    'created',
    'updated',
    'assigned',
    'contacted',
    'status_changed',
    'score_changed',
    'follow_up_scheduled',
    'follow_up_sent',
    'follow_up_postponed',
    'follow_up_cancelled',
    'replied',
    'converted',
    'lost',
    'overdue',
  ]),
  description: z.string(),
  metadata: z.record(z.string(), z.unknown()).nullable().describe('What changed, e.g. from/to for status and assignment'),
  actor: z.string().nullable().describe('Who did it'),
  created_at: z.date(),
});
export const LeadActivityList = z.object({ lead_id: z.number().int(), activities: z.array(LeadActivityView), total: count, skip: count, limit: count });
export type LeadActivityList = z.infer<typeof LeadActivityList>;

export const BulkResult = z.object({
  updated: count.describe('Leads that changed'),
  unchanged: count.describe('Leads already in the requested state'),
  not_found: z.array(z.number().int()).describe('Ids that name no lead'),
});
export type BulkResult = z.infer<typeof BulkResult>;

export const LeadOverview = z.object({
  total: count,
  open: count.describe('Neither won nor lost'),
  won: count,
  lost: count,
  overdue: count.describe('Open leads whose follow-up time has passed'),
  by_status: z.record(z.string(), count).describe('Every status, zeros included'),
  by_priority: z.record(z.string(), count).describe('Every priority, zeros included'),
  by_source: z.record(z.string(), count).describe('Sources that have leads'),
  average_score: z.number(),
  total_pipeline_value: money.describe('Sum of estimated_value over all leads'),
  open_pipeline_value: money.describe('Sum of estimated_value over open leads'),
  won_value: money.describe('Sum of estimated_value over won leads'),
  conversion_rate: percentOf('Won of the leads that closed (won + lost)'),
});
export type LeadOverview = z.infer<typeof LeadOverview>;

export const LeadPipeline = z.object({
  stages: z.array(z.object({ status, count, value: money })).describe('Count and value per status, in pipeline order, every status present'),
  total_count: count,
  open_count: count,
  open_value: money,
  total_value: money,
});
export type LeadPipeline = z.infer<typeof LeadPipeline>;

export const LeadFunnel = z.object({
  total_leads: count,
  stages: z
    .array(
      z.object({
        stage: z.enum(['new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won']),
        count: count.describe('Leads that got at least this far (a lead lost later still counts for the stages it reached)'),
        conversion_rate: percentOf('Share of the previous stage that got this far (the first stage: of all leads)'),
        percent_of_total: percentOf('Share of all leads'),
      }),
    )
    .describe('The stages in order'),
  overall_conversion_rate: percentOf('Won of all leads'),
});
export type LeadFunnel = z.infer<typeof LeadFunnel>;

export const FollowUpScheduled = z.object({
  lead_id: z.number().int(),
  next_follow_up_at: z.iso.datetime({ offset: true }).describe('When it is due'),
  workflow_id: z.string().describe("The lead's follow-up workflow (lead-followup-<id>)"),
});
export type FollowUpScheduled = z.infer<typeof FollowUpScheduled>;

export const FollowUpState = z.object({
  lead_id: z.number().int(),
  workflow_id: z.string(),
  next_follow_up_at: z.date().nullable().describe('As recorded on the lead'),
  leadId: z.number().int(),
  phase: z.enum(['waiting', 'due', 'idle', 'ended']).describe('waiting: sleeps until due; due: sending; idle: nothing scheduled; ended: no more follow-ups'),
  dueAt: z.iso.datetime({ offset: true }).optional().describe('When the workflow will send it'),
  sent: count.describe('Follow-ups sent so far'),
  postponed: count.describe('Times it was put off: an operator held the chat, or it could not be delivered yet'),
  ending: z.enum(['replied', 'won', 'lost', 'deleted']).optional().describe('Why it ended'),
});
export type FollowUpState = z.infer<typeof FollowUpState>;

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
