import type { Request } from 'express';
import { z } from 'zod';
import { AudienceSchema } from '../../db/campaign-audience';
import { getCampaign } from '../../db/campaigns';
import type { Campaign } from '../../db/schema';
import type { WorkflowIds } from '../../temporal/workflow-ids';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { parseId } from '../ids';
import { DEFAULT_SEND_RATE, MAX_SEND_RATE } from '../../workflows/campaign-definitions';

const isoDate = z.iso.datetime({ offset: true }).transform((s) => new Date(s));

const validTimezone = (tz: string) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
};

// Temporal parses the expression itself; this catches the obvious mistakes with a clear message.
const cron = z
  .string()
  .trim()
  .refine((c) => /^@\w+/.test(c) || /^\S+(\s+\S+){4,6}$/.test(c), 'must be a cron expression such as "0 9 * * MON" or "@daily"');

const ScheduleFields = {
  scheduled_at: isoDate.nullish(),
  cron: cron.nullish(),
  timezone: z.string().refine(validTimezone, 'must be an IANA time zone such as "Europe/Berlin"').nullish(),
};

const rate = z.number().int().min(1).max(MAX_SEND_RATE, `at most ${MAX_SEND_RATE} messages per second (WhatsApp's per-number ceiling)`);
const variables = z.record(z.string().regex(/^\w+$/, 'variable names are letters, digits and _'), z.string().max(1024));

const NumberId = z.number().int().min(1).max(2_147_483_647).describe('The business number it sends from (GET /api/v1/numbers); default 1, the default number');

// No defaults here: an update must leave out what it does not name (defaults belong to create).
const Fields = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullish(),
  template_id: z.number().int().positive(),
  number_id: NumberId,
  variables,
  audience: AudienceSchema,
  rate_per_second: rate,
  ...ScheduleFields,
});

const oneTiming = (b: { scheduled_at?: Date | null; cron?: string | null }) => !(b.scheduled_at && b.cron);
const TIMING_MESSAGE = { message: 'give scheduled_at (once) or cron (repeating), not both', path: ['cron'] };

export const CreateCampaignBody = Fields.extend({
  variables: variables.default({}),
  audience: AudienceSchema.default({ tags_match: 'any' }),
  rate_per_second: rate.default(DEFAULT_SEND_RATE),
  number_id: NumberId.default(1),
}).refine(oneTiming, TIMING_MESSAGE);
export const UpdateCampaignBody = Fields.partial()
  .refine(oneTiming, TIMING_MESSAGE)
  .refine((o) => Object.values(o).some((v) => v !== undefined), 'nothing to update');
export const StartCampaignBody = z.object(ScheduleFields).refine(oneTiming, TIMING_MESSAGE);

const CampaignStatusSchema = z.enum(['draft', 'scheduled', 'running', 'paused', 'stopped', 'completed']);
const RecipientStateSchema = z.enum(['sending', 'sent', 'failed', 'unconfirmed']);

export const CampaignIdParams = z.object({ id: z.string().describe('campaign id') });

export const CampaignListQuery = z.object({
  status: CampaignStatusSchema.optional(),
  search: z.string().max(200).optional(),
  template_id: z.coerce.number().int().positive().optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const RecipientsQuery = z.object({
  state: RecipientStateSchema.optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

// ---- What the routes answer (output schemas: the OpenAPI document is generated from them) ----

const count = z.number().int();
const percentOf = (what: string) => z.number().describe(`${what}, in percent of messages sent (0-100, two decimals)`);
const isoString = z.iso.datetime({ offset: true });

/** A campaign row as stored, plus the id of its Temporal Schedule. */
export const CampaignView = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string().nullable(),
  template_id: z.number().int(),
  number_id: z.number().int().describe('The business number it sends from'),
  variables: z.record(z.string(), z.string()).describe('Template variables by name'),
  audience: z.record(z.string(), z.unknown()).describe('Who it goes to, as given on create/update: tags, tags_match, exclude_tags, company, contact_ids'),
  rate_per_second: z.number().int().describe('Messages sent per second'),
  scheduled_at: z.date().nullable().describe('One-off start time; null when it starts now or repeats by cron'),
  cron: z.string().nullable().describe('Repeating start times (cron expression); null for a one-off campaign'),
  timezone: z.string().nullable().describe('IANA time zone the cron expression is read in'),
  status: CampaignStatusSchema,
  current_workflow_id: z.string().nullable().describe('Workflow id of the latest run (the run in progress while running or paused)'),
  total_recipients: z.number().int().nullable().describe('Audience size counted when the latest run started'),
  started_at: z.date().nullable(),
  finished_at: z.date().nullable(),
  last_error: z.string().nullable().describe('Why the latest run failed, if it did'),
  created_by: z.string().nullable().describe('Who created it: a user email or an API key label'),
  created_at: z.date(),
  updated_at: z.date(),
  schedule_id: z
    .string()
    .describe("Id of the campaign's Temporal Schedule (campaign-<id>, behind the deployment's TEMPORAL_ID_PREFIX), whether or not it exists yet"),
});

export const CampaignList = z.object({ campaigns: z.array(CampaignView), total: count, skip: count, limit: count });

const MessageCounts = {
  messages_sent: count.describe('Sent and not reported failed by WhatsApp'),
  messages_delivered: count.describe('Delivered or read'),
  messages_read: count,
  messages_failed: count.describe('Refused by the send or reported failed by WhatsApp'),
  replies_received: count.describe('Recipients who answered'),
};

export const CampaignOverview = z.object({
  total_campaigns: count,
  campaigns_by_status: z.record(z.string(), count).describe('Campaigns per status; statuses with none are left out'),
  active_campaigns: count.describe('Running or paused'),
  ...MessageCounts,
  delivery_rate: percentOf('Delivered'),
  read_rate: percentOf('Read'),
  reply_rate: percentOf('Replied'),
});

export const ScheduleView = z.object({
  id: z.string(),
  paused: z.boolean(),
  note: z.string().nullable(),
  remaining_actions: z.number().int().nullable().describe('Runs the Schedule may still start (1 for a one-off campaign); null: unlimited'),
  next_run_times: z.array(isoString).describe('Up to the next five fire times'),
  recent_runs: z.array(z.object({ scheduled_at: isoString, workflow_id: z.string() })).describe('Up to the last five runs it started'),
});

export const CampaignProgress = z.object({
  campaignId: z.number().int(),
  phase: z.enum(['starting', 'sending', 'paused', 'confirming', 'stopping', 'finished']),
  total: count.describe('Audience size of this run'),
  processed: count.describe('Recipients handled so far (sent, failed or unconfirmed)'),
  sent: count,
  failed: count,
  unconfirmed: count.describe('Sends whose outcome is not known yet'),
  ratePerSecond: z.number(),
  startedAt: isoString.optional(),
  batches: count,
});

export const CampaignDetail = CampaignView.extend({
  ...MessageCounts,
  schedule: ScheduleView.nullable().describe('The Temporal Schedule as Temporal describes it; null when it does not exist (or Temporal did not answer)'),
  progress: CampaignProgress.nullable().describe('Live progress queried from the run in progress; null when none runs (or it did not answer)'),
});

export const CampaignStatsView = z.object({
  campaign_id: z.number().int(),
  status: CampaignStatusSchema,
  total_recipients: count.describe('Audience size of the latest run (0 before the first)'),
  recipients: count.describe('Recipients recorded so far'),
  sent: count,
  delivered: count,
  read: count,
  failed: count,
  unconfirmed: count,
  replies: count,
  failures_by_code: z.record(z.string(), count).describe('Failed recipients per error code (WhatsApp code or reason)'),
  pending: count.describe('Recipients not handled yet'),
  delivery_rate: percentOf('Delivered'),
  read_rate: percentOf('Read'),
  reply_rate: percentOf('Replied'),
});

export const RecipientView = z.object({
  contact_id: z.number().int(),
  wa_id: z.string(),
  state: RecipientStateSchema,
  kind: z.enum(['template', 'text']).nullable().describe('What was sent: the template, or free text inside the 24 h window'),
  wamid: z.string().nullable().describe("WhatsApp's message id, once sent"),
  error: z.unknown().nullable().describe('Why the send failed'),
  created_at: z.date(),
  sent_at: z.date().nullable(),
  replied_at: z.date().nullable(),
  delivery_status: z.enum(['received', 'pending', 'sent', 'delivered', 'read', 'failed']).nullable().describe("WhatsApp's latest receipt for the message"),
});

export const RecipientList = z.object({ recipients: z.array(RecipientView), total: count, skip: count, limit: count });

export const CampaignStarted = z.object({
  campaign_id: z.number().int(),
  status: z.literal('scheduled'),
  starts: z.enum(['now', 'at', 'cron']).describe('now: triggered at once; at: once at scheduled_at; cron: at every cron time'),
  schedule_id: z.string(),
});

export const CampaignSignalled = z.object({
  campaign_id: z.number().int(),
  action: z.enum(['pause', 'resume', 'stop', 'complete']),
  workflow_id: z.string().nullable().describe('The run that was signalled; null when there was none and the record was changed directly'),
});

export const SchedulePaused = z.object({ campaign_id: z.number().int(), schedule_id: z.string(), paused: z.boolean() });
export const ScheduleTriggered = z.object({ campaign_id: z.number().int(), schedule_id: z.string(), triggered: z.literal(true) });

export type CampaignView = z.infer<typeof CampaignView>;
export type CampaignList = z.infer<typeof CampaignList>;
export type CampaignOverview = z.infer<typeof CampaignOverview>;
export type ScheduleView = z.infer<typeof ScheduleView>;
export type CampaignProgress = z.infer<typeof CampaignProgress>;
export type CampaignDetail = z.infer<typeof CampaignDetail>;
export type CampaignStatsView = z.infer<typeof CampaignStatsView>;
export type RecipientView = z.infer<typeof RecipientView>;
export type RecipientList = z.infer<typeof RecipientList>;
export type CampaignStarted = z.infer<typeof CampaignStarted>;
export type CampaignSignalled = z.infer<typeof CampaignSignalled>;
export type SchedulePaused = z.infer<typeof SchedulePaused>;
export type ScheduleTriggered = z.infer<typeof ScheduleTriggered>;

export function campaignView(c: Campaign, ids: WorkflowIds): CampaignView {
  return { ...c, schedule_id: ids.campaignSchedule(c.id) };
}

export const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0);

export async function requireCampaign(deps: AppDeps, req: Request): Promise<Campaign> {
  const id = parseId(req.params.id);
  const campaign = id === undefined ? undefined : await getCampaign(deps.db, id);
  if (!campaign) throw new HttpError('NOT_FOUND', `Campaign ${req.params.id} not found`);
  return campaign;
}
