import type { Request } from 'express';
import { z } from 'zod';
import { AudienceSchema } from '../../db/campaign-audience';
import { getCampaign } from '../../db/campaigns';
import type { Campaign } from '../../db/schema';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { parseId } from '../ids';
import { DEFAULT_SEND_RATE, MAX_SEND_RATE, campaignScheduleId } from '../../workflows/campaign-definitions';

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

const rate = z
  .number()
  .int()
  .min(1)
  .max(MAX_SEND_RATE, `at most ${MAX_SEND_RATE} messages per second (WhatsApp's per-number ceiling)`);
const variables = z.record(z.string().regex(/^\w+$/, 'variable names are letters, digits and _'), z.string().max(1024));

// No defaults here: an update must leave out what it does not name (defaults belong to create).
const Fields = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).nullish(),
  template_id: z.number().int().positive(),
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
}).refine(oneTiming, TIMING_MESSAGE);
export const UpdateCampaignBody = Fields.partial()
  .refine(oneTiming, TIMING_MESSAGE)
  .refine((o) => Object.values(o).some((v) => v !== undefined), 'nothing to update');
export const StartCampaignBody = z.object(ScheduleFields).refine(oneTiming, TIMING_MESSAGE);

export const CampaignListQuery = z.object({
  status: z.enum(['draft', 'scheduled', 'running', 'paused', 'stopped', 'completed']).optional(),
  search: z.string().max(200).optional(),
  template_id: z.coerce.number().int().positive().optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export const RecipientsQuery = z.object({
  state: z.enum(['sending', 'sent', 'failed', 'unconfirmed']).optional(),
  skip: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});

export function campaignView(c: Campaign) {
  return { ...c, schedule_id: campaignScheduleId(c.id) };
}

export const percent = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 100 : 0);

export async function requireCampaign(deps: AppDeps, req: Request): Promise<Campaign> {
  const id = parseId(req.params.id);
  const campaign = id === undefined ? undefined : await getCampaign(deps.db, id);
  if (!campaign) throw new HttpError('NOT_FOUND', `Campaign ${req.params.id} not found`);
  return campaign;
}

