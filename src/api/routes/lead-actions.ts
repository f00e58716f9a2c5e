import { Router, type Request } from 'express';
import type { z } from 'zod';
import { assignLead, bulkAssignLeads, bulkUpdateLeadStatus, closeLeadLost, convertLead, markLeadContacted, setLeadScore } from '../../db/lead-actions';
import { listLeadActivities } from '../../db/lead-queries';
import type { Lead } from '../../db/schema';
import type { AppDeps } from '../deps';
import { requireId } from '../ids';
import { OFFSET_FOR_SKIP } from '../paging';
import { READ, route } from '../route-doc';
import {
  AssignBody,
  BulkAssignBody,
  BulkResult,
  BulkStatusBody,
  CloseLostBody,
  ContactedBody,
  ConvertBody,
  LeadActivityList,
  LeadIdParams,
  LeadView,
  PagingQuery,
  ScoreBody,
  leadView,
  notFound,
  requireLead,
} from './lead-schemas';

import { endFollowUpIfClosed } from './lead-follow-up';

const actor = (req: Request) => req.principal?.label ?? null;

/** One lead's actions; each writes its activity in the same transaction as the change. */
export function leadActionsRouter(deps: AppDeps): Router {
  const router = Router();
  const write = ['sales'] as const;

  const action = <B extends z.ZodType>(
    path: string,
    doc: { summary: string; description: string; body: B; conflict?: boolean },
    run: (id: number, body: z.output<B>, req: Request) => Promise<Lead | undefined>,
  ) =>
    router.post(
      `/:id/${path}`,
      route(
        {
          summary: doc.summary,
          description: `${doc.description} Writes the lead's activity in the same transaction; a lead that ends up won or lost gets no more follow-ups.`,
          access: write,
          params: LeadIdParams,
          body: doc.body,
          responses: { 200: { description: 'The lead after the change, with its contact', schema: LeadView } },
          errors: doc.conflict ? ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'] : ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
        },
        async ({ params, body, req }) => {
          const id = requireId(params.id, 'Lead');
          const lead = await run(id, body as z.output<B>, req);
          if (!lead) throw notFound(id);
          await endFollowUpIfClosed(deps, lead);
          return (await leadView(deps.db, lead)) satisfies LeadView;
        },
      ),
    );

  action(
    'assign',
    { summary: 'Assign a lead', description: 'assigned_to null unassigns it; assigning it to whoever has it already changes nothing.', body: AssignBody },
    (id, b, req) => assignLead(deps.db, id, b.assigned_to, actor(req)),
  );
  action(
    'contacted',
    { summary: 'Record that someone spoke to the lead', description: 'Sets last_contacted_at; a new lead moves on to contacted.', body: ContactedBody },
    (id, b, req) => markLeadContacted(deps.db, id, b.note ?? null, actor(req)),
  );
  action('score', { summary: "Set a lead's score", description: 'The score is 0-100; the reason goes into the activity.', body: ScoreBody }, (id, b, req) =>
    setLeadScore(deps.db, id, b.lead_score, b.reason ?? null, actor(req)),
  );
  action(
    'convert',
    {
      summary: 'Mark a lead won',
      description: 'A lead already won or lost is a 409: reopen it with a status change first.',
      body: ConvertBody,
      conflict: true,
    },
    (id, b, req) => convertLead(deps.db, id, b.note ?? null, actor(req)),
  );
  action(
    'close-lost',
    {
      summary: 'Close a lead as lost',
      description: 'The reason is kept in lost_reason. A lead already won or lost is a 409.',
      body: CloseLostBody,
      conflict: true,
    },
    (id, b, req) => closeLeadLost(deps.db, id, b.reason, actor(req)),
  );

  router.get(
    '/:id/activities',
    route(
      {
        summary: "A lead's activities",
        description: "Oldest first: the lead's story in the order it happened, with who did what.",
        access: READ,
        params: LeadIdParams,
        query: PagingQuery,
        queryAliases: OFFSET_FOR_SKIP,
        responses: { 200: { description: 'A page of activities', schema: LeadActivityList } },
        errors: ['NOT_FOUND'],
      },
      async ({ query: q, req }) => {
        const lead = await requireLead(deps.db, req);
        const { rows, total } = await listLeadActivities(deps.db, lead.id, q.skip, q.limit);
        return { lead_id: lead.id, activities: rows, total, skip: q.skip, limit: q.limit } satisfies LeadActivityList;
      },
    ),
  );

  return router;
}

/** Many leads at once, all or nothing; ids that name no lead are reported, not fatal. */
export function leadBulkRouter(deps: AppDeps): Router {
  const router = Router();
  const write = ['sales'] as const;

  router.post(
    '/bulk/assign',
    route(
      {
        summary: 'Assign many leads',
        description:
          'All or nothing, one activity per lead that changed; assigned_to null unassigns. Ids that name no lead are reported in not_found, not refused.',
        access: write,
        body: BulkAssignBody,
        responses: { 200: { description: 'What changed', schema: BulkResult } },
      },
      async ({ body: b, req }) => (await bulkAssignLeads(deps.db, b.lead_ids, b.assigned_to, actor(req))) satisfies BulkResult,
    ),
  );

  router.post(
    '/bulk/update-status',
    route(
      {
        summary: 'Change the status of many leads',
        description:
          'All or nothing: reopening a lead whose contact already has another open lead is a 409 and changes none. Ids that name no lead are reported in not_found. ' +
          'Leads moved to won or lost get no more follow-ups.',
        access: write,
        body: BulkStatusBody,
        responses: { 200: { description: 'What changed', schema: BulkResult } },
        errors: ['CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ body: b, req }) => {
        const result = await bulkUpdateLeadStatus(deps.db, b.lead_ids, b.status, actor(req));
        for (const id of b.lead_ids) await endFollowUpIfClosed(deps, { id, status: b.status });
        return result satisfies BulkResult;
      },
    ),
  );

  return router;
}
