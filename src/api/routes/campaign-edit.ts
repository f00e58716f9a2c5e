import { Router } from 'express';
import { ScheduleNotFoundError } from '@temporalio/client';
import { getCampaign } from '../../db/campaigns';
import type { Db } from '../../db/database';
import { idsOf } from '../../temporal/workflow-ids';
import { applyCampaignSchedule, planOf } from '../campaign-schedules';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { chatNumberFor } from '../chat-ref';
import { route } from '../route-doc';
import { CampaignIdParams, CampaignView, CreateCampaignBody, UpdateCampaignBody, campaignView, requireCampaign } from './campaign-schemas';

async function requireTemplate(db: Db, templateId: number) {
  const template = await db.selectFrom('templates').select(['id', 'status']).where('id', '=', templateId).executeTakeFirst();
  if (!template) throw new HttpError('VALIDATION_ERROR', `template_id: template ${templateId} does not exist`);
  return template;
}

const json = (v: unknown) => (v === undefined ? undefined : JSON.stringify(v));

/** Create, edit, duplicate and delete: campaign definitions are reference data the API writes. */
export function campaignEditRouter(deps: AppDeps): Router {
  const ids = idsOf(deps);
  const router = Router();
  const marketer = ['marketer'] as const;

  router.post(
    '/',
    route(
      {
        summary: 'Create a campaign',
        description:
          'Created as a draft; nothing is sent until it is started. Give scheduled_at (once) or cron (repeating), or neither to start it by hand. ' +
          'The template must exist (400 otherwise); it only has to be APPROVED to start.',
        access: marketer,
        body: CreateCampaignBody,
        responses: { 201: { description: 'The new draft', schema: CampaignView } },
      },
      async ({ body, req, res }) => {
        await requireTemplate(deps.db, body.template_id);
        if (body.number_id !== undefined) await chatNumberFor(deps, body.number_id);
        const created = await deps.db
          .insertInto('campaigns')
          .values({
            name: body.name,
            description: body.description ?? null,
            template_id: body.template_id,
            ...(body.number_id !== undefined ? { number_id: body.number_id } : {}),
            variables: JSON.stringify(body.variables),
            audience: JSON.stringify(body.audience),
            rate_per_second: body.rate_per_second,
            scheduled_at: body.scheduled_at ?? null,
            cron: body.cron ?? null,
            timezone: body.timezone ?? null,
            created_by: req.principal?.label ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        res.status(201).json(campaignView(created, ids));
      },
    ),
  );

  router.put(
    '/:id',
    route(
      {
        summary: 'Change a campaign',
        description:
          'Changes only the fields given. Setting scheduled_at clears cron and vice versa. A running or paused campaign cannot be changed (409: stop it first). ' +
          "When a scheduled campaign's timing changes, its Temporal Schedule is updated first; a timing Temporal rejects is a 400 and nothing is saved.",
        access: marketer,
        params: CampaignIdParams,
        body: UpdateCampaignBody,
        responses: { 200: { description: 'The updated campaign', schema: CampaignView } },
        errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ body, req }) => {
        const campaign = await requireCampaign(deps, req);
        if (campaign.status === 'running' || campaign.status === 'paused') {
          throw new HttpError('CONFLICT', `Campaign is ${campaign.status}; stop it before changing it`);
        }
        if (body.template_id) await requireTemplate(deps.db, body.template_id);
        if (body.number_id !== undefined) await chatNumberFor(deps, body.number_id);
        // Setting one timing clears the other, so the campaign has a single plan.
        const timing = {
          scheduled_at: body.cron ? null : body.scheduled_at,
          cron: body.scheduled_at ? null : body.cron,
          timezone: body.timezone,
        };
        // A waiting Schedule follows its campaign's new timing; Temporal checks it before anything is saved.
        const timingChanged = Object.values(timing).some((v) => v !== undefined);
        if (campaign.status === 'scheduled' && timingChanged) {
          const merged = { ...campaign, ...Object.fromEntries(Object.entries(timing).filter(([, v]) => v !== undefined)) };
          await applyCampaignSchedule(deps.temporal, ids, deps.taskQueue, campaign.id, planOf(merged));
        }
        const updated = await deps.db
          .updateTable('campaigns')
          .set({
            name: body.name,
            description: body.description,
            template_id: body.template_id,
            number_id: body.number_id,
            variables: json(body.variables),
            audience: json(body.audience),
            rate_per_second: body.rate_per_second,
            ...timing,
            updated_at: new Date(),
          })
          .where('id', '=', campaign.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        return campaignView(updated, ids);
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      {
        summary: 'Delete a campaign',
        description: 'Deletes its Temporal Schedule too. A running or paused campaign cannot be deleted (409: stop it first).',
        access: marketer,
        params: CampaignIdParams,
        responses: { 204: 'Deleted' },
        errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req, res }) => {
        const campaign = await requireCampaign(deps, req);
        if (campaign.status === 'running' || campaign.status === 'paused') {
          throw new HttpError('CONFLICT', `Campaign is ${campaign.status}; stop it before deleting it`);
        }
        await deps.temporal.schedule
          .getHandle(ids.campaignSchedule(campaign.id))
          .delete()
          .catch((err: unknown) => {
            if (!(err instanceof ScheduleNotFoundError)) throw err;
          });
        await deps.db.deleteFrom('campaigns').where('id', '=', campaign.id).execute();
        res.status(204).end();
      },
    ),
  );

  router.post(
    '/:id/duplicate',
    route(
      {
        summary: 'Copy a campaign as a new draft',
        description: 'Same template, variables, audience, rate and cron, named "<name> (copy)"; a one-off scheduled_at is not copied.',
        access: marketer,
        params: CampaignIdParams,
        responses: { 201: { description: 'The copy', schema: CampaignView } },
        errors: ['NOT_FOUND'],
      },
      async ({ req, res }) => {
        const source = await requireCampaign(deps, req);
        const copy = await deps.db
          .insertInto('campaigns')
          .values({
            name: `${source.name} (copy)`.slice(0, 200),
            description: source.description,
            template_id: source.template_id,
            number_id: source.number_id,
            variables: JSON.stringify(source.variables),
            audience: JSON.stringify(source.audience),
            rate_per_second: source.rate_per_second,
            scheduled_at: null,
            cron: source.cron,
            timezone: source.timezone,
            created_by: req.principal?.label ?? null,
          })
          .returningAll()
          .executeTakeFirstOrThrow();
        res.status(201).json(campaignView((await getCampaign(deps.db, copy.id))!, ids));
      },
    ),
  );

  return router;
}
