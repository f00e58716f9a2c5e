import { Router } from 'express';
import { WorkflowNotFoundError } from '@temporalio/client';
import { z } from 'zod';
import { recordLeadActivity } from '../../db/leads';
import type { Lead } from '../../db/schema';
import { notifyLeadFollowUp, scheduleLeadFollowUp } from '../../temporal/lead-follow-ups';
import { idsOf } from '../../temporal/workflow-ids';
import { leadFollowUpQuery } from '../../workflows/lead-definitions';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { READ, route } from '../route-doc';
import { FollowUpScheduled, FollowUpState, LeadIdParams, requireLead } from './lead-schemas';

const FollowUpBody = z
  .object({
    at: z.iso
      .datetime({ offset: true })
      .transform((s) => new Date(s))
      .optional(),
    in_seconds: z
      .number()
      .int()
      .min(1)
      .max(366 * 24 * 3600)
      .optional(),
    message: z.string().trim().min(1).max(4096).optional(),
    template_id: z.number().int().positive().nullish(),
  })
  .refine((b) => (b.at === undefined) !== (b.in_seconds === undefined), { message: 'give either at (ISO 8601) or in_seconds', path: ['at'] })
  // Zod runs object refinements even when a field failed: `at` may still be the raw string here.
  .refine((b) => !(b.at instanceof Date) || b.at.getTime() > Date.now(), { message: 'must be in the future', path: ['at'] });

/** A lead that was just won, lost or deleted gets no more follow-ups. */
export async function endFollowUpIfClosed(deps: AppDeps, lead: Pick<Lead, 'id' | 'status'> | undefined): Promise<void> {
  if (lead && (lead.status === 'won' || lead.status === 'lost')) await notifyLeadFollowUp(deps.temporal, lead.id, lead.status, idsOf(deps));
}

/**
 * POST /leads/:id/follow-up schedules (or moves) the lead's follow-up: the durable workflow
 * lead-followup-<id> sends it at that time through the lead's chat. GET shows it live.
 */
export function leadFollowUpRouter(deps: AppDeps): Router {
  const router = Router();

  router.post(
    '/:id/follow-up',
    route(
      {
        summary: "Schedule (or move) the lead's follow-up",
        description: [
          "Give either `at` (ISO 8601, in the future) or `in_seconds`. The durable workflow lead-followup-<id> sleeps until then and sends the follow-up through the lead's WhatsApp chat:",
          '`message` (or a default text) inside the 24-hour window; outside it the approved template `template_id`, if any; otherwise it is not sent (the activity says why).',
          'Scheduling again moves the due time of the same workflow. No follow-up is sent once the contact writes after it was scheduled, or the lead is won, lost or deleted;',
          'while an operator holds the chat it is put off and tried again. Closed (won or lost) leads get none (409), and the template must exist (400) and be APPROVED (409).',
        ].join(' '),
        access: ['sales'],
        params: LeadIdParams,
        body: FollowUpBody,
        responses: { 202: { description: 'Scheduled', schema: FollowUpScheduled } },
        errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ body, req, res }) => {
        const lead = await requireLead(deps.db, req);
        if (lead.status === 'won' || lead.status === 'lost') throw new HttpError('CONFLICT', `Lead is ${lead.status}; closed leads get no follow-ups`);
        if (body.template_id) {
          const t = await deps.db.selectFrom('templates').select(['name', 'status']).where('id', '=', body.template_id).executeTakeFirst();
          if (!t) throw new HttpError('VALIDATION_ERROR', `template_id: template ${body.template_id} does not exist`);
          if (t.status !== 'APPROVED') throw new HttpError('CONFLICT', `Template ${t.name} is ${t.status}; only APPROVED templates can be sent`);
        }
        const dueAt = body.at ?? new Date(Date.now() + body.in_seconds! * 1000);
        await deps.db
          .updateTable('leads')
          .set({
            next_follow_up_at: dueAt,
            ...(body.message !== undefined ? { follow_up_message: body.message } : {}),
            ...(body.template_id !== undefined ? { follow_up_template_id: body.template_id } : {}),
            overdue_since: null,
            updated_at: new Date(),
          })
          .where('id', '=', lead.id)
          .execute();
        await recordLeadActivity(
          deps.db,
          lead.id,
          'follow_up_scheduled',
          `Follow-up scheduled for ${dueAt.toISOString()}`,
          { due_at: dueAt.toISOString() },
          req.principal?.label ?? null,
        );
        const workflowId = await scheduleLeadFollowUp(deps.temporal, deps.taskQueue, lead.id, dueAt, idsOf(deps));
        res.status(202).json({ lead_id: lead.id, next_follow_up_at: dueAt.toISOString(), workflow_id: workflowId } satisfies FollowUpScheduled);
      },
    ),
  );

  router.get(
    '/:id/follow-up',
    route(
      {
        summary: "The lead's follow-up, live from its workflow",
        description:
          'Queries the workflow lead-followup-<id>: its phase, due time, follow-ups sent and postponed, and why it ended. 404 when none was ever scheduled.',
        access: READ,
        params: LeadIdParams,
        responses: { 200: { description: 'The follow-up', schema: FollowUpState } },
        errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ req }) => {
        const lead = await requireLead(deps.db, req);
        const workflowId = idsOf(deps).leadFollowUp(lead.id);
        try {
          const live = await deps.temporal.workflow.getHandle(workflowId).query(leadFollowUpQuery);
          return { lead_id: lead.id, workflow_id: workflowId, next_follow_up_at: lead.next_follow_up_at, ...live } satisfies FollowUpState;
        } catch (err) {
          if (!(err instanceof WorkflowNotFoundError)) throw err;
          throw new HttpError('NOT_FOUND', `Lead ${lead.id} has no follow-up; schedule one with POST /leads/${lead.id}/follow-up`);
        }
      },
    ),
  );

  return router;
}
