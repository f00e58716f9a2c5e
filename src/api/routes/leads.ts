import { Router, type Request } from 'express';
import { listLeads, type LeadList } from '../../db/lead-queries';
import { updateLead } from '../../db/lead-update';
import { createLead, deleteLead } from '../../db/leads';
import type { AppDeps } from '../deps';
import { requireId } from '../ids';
import { OFFSET_FOR_SKIP } from '../paging';
import type { z } from 'zod';
import { READ, route, type RouteDoc } from '../route-doc';
import { leadActionsRouter, leadBulkRouter } from './lead-actions';
import {
  AssignedLeadList,
  CreateLeadBody,
  LeadIdParams,
  LeadList as LeadListView,
  LeadListQuery,
  LeadView,
  UpdateLeadBody,
  leadErrors,
  leadView,
  leadViews,
  notFound,
  requireLead,
} from './lead-schemas';
import { leadStatsRouter } from './lead-stats';
import { endFollowUpIfClosed, leadFollowUpRouter } from './lead-follow-up';
import { notifyLeadFollowUp } from '../../temporal/lead-follow-ups';
import { idsOf } from '../../temporal/workflow-ids';

const actor = (req: Request) => req.principal?.label ?? null;

/** Seed 004's leads: sales (and admin) write, every reading role reads. */
export function leadsRouter(deps: AppDeps): Router {
  const router = Router();
  const write = ['sales'] as const;

  router.post(
    '/',
    route(
      {
        summary: 'Create a lead',
        description:
          'A contact has at most one open lead (neither won nor lost): a second is a 409 naming the open one. A contact, campaign or template id that does not exist is a 400.',
        access: write,
        body: CreateLeadBody,
        responses: { 201: { description: 'The new lead with its contact', schema: LeadView } },
        errors: ['CONFLICT'],
      },
      async ({ body, req, res }) => {
        const lead = await createLead(deps.db, body, actor(req));
        res.status(201).json((await leadView(deps.db, lead)) satisfies LeadView);
      },
    ),
  );

  const list =
    (kind: LeadList, mine = false) =>
    async ({ query: q, req }: { query: z.output<typeof LeadListQuery>; req: Request }): Promise<AssignedLeadList> => {
      // "My leads": the caller's own unless someone else is named.
      const assignedTo = q.assigned_to || (mine ? (actor(req) ?? undefined) : undefined);
      const { rows, total } = await listLeads(
        deps.db,
        {
          status: q.status,
          priority: q.priority,
          source: q.source || undefined,
          assignedTo,
          contactId: q.contact_id,
          campaignId: q.campaign_id,
          search: q.search || undefined,
          minScore: q.min_score,
          skip: q.skip,
          limit: q.limit,
        },
        kind,
      );
      return {
        leads: await leadViews(deps.db, rows),
        total,
        skip: q.skip,
        limit: q.limit,
        ...(mine ? { assigned_to: assignedTo } : {}),
      };
    };
  const listDoc = (summary: string, description: string, schema: z.ZodType = LeadListView) =>
    ({
      summary,
      description,
      access: READ,
      query: LeadListQuery,
      queryAliases: OFFSET_FOR_SKIP,
      responses: { 200: { description: 'A page of leads, each with its contact', schema } },
    }) satisfies RouteDoc;
  router.get(
    '/',
    route(
      listDoc(
        'List leads',
        'Newest first; the query narrows them by status, priority, source, owner, contact, campaign, search (title and description) and minimum score.',
      ),
      list('all'),
    ),
  );
  router.get(
    '/assigned',
    route(
      listDoc(
        'My leads',
        "Leads assigned to ?assigned_to or, without it, to the caller (their label: a user's email or an API key's label); the answer says whose. Newest first; other filters as in the list.",
        AssignedLeadList,
      ),
      list('all', true),
    ),
  );
  router.get(
    '/high-priority',
    route(
      listDoc('Open high-priority leads', 'Open leads of priority high or urgent: urgent first, then by score (highest first). Other filters as in the list.'),
      list('high_priority'),
    ),
  );
  router.get(
    '/overdue',
    route(
      listDoc(
        'Open overdue leads',
        'Open leads marked overdue by the follow-up sweep, or whose follow-up time has passed: the longest overdue first. Other filters as in the list.',
      ),
      list('overdue'),
    ),
  );

  // Static paths first: "stats" and "bulk" are not lead ids.
  router.use(leadStatsRouter(deps));
  router.use(leadBulkRouter(deps));

  router.get(
    '/:id',
    route(
      {
        summary: 'Get a lead with its contact',
        access: READ,
        params: LeadIdParams,
        responses: { 200: { description: 'The lead', schema: LeadView } },
        errors: ['NOT_FOUND'],
      },
      async ({ req }) => (await leadView(deps.db, await requireLead(deps.db, req))) satisfies LeadView,
    ),
  );

  router.put(
    '/:id',
    route(
      {
        summary: 'Change a lead',
        description:
          'Changes only the fields given; status, owner and score changes each write their own activity. Reopening a lead, or moving it to another contact, ' +
          'while that contact has another open lead is a 409. Winning or losing it (status won or lost) ends its follow-up workflow.',
        access: write,
        params: LeadIdParams,
        body: UpdateLeadBody,
        responses: { 200: { description: 'The updated lead', schema: LeadView } },
        errors: ['NOT_FOUND', 'CONFLICT', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ params, body, req }) => {
        const id = requireId(params.id, 'Lead');
        const lead = await updateLead(deps.db, id, body, actor(req));
        if (!lead) throw notFound(id);
        await endFollowUpIfClosed(deps, lead);
        return (await leadView(deps.db, lead)) satisfies LeadView;
      },
    ),
  );

  router.delete(
    '/:id',
    route(
      {
        summary: 'Delete a lead',
        description: 'Deletes its activities too, and ends its follow-up workflow if it has one.',
        access: write,
        params: LeadIdParams,
        responses: { 204: 'Deleted' },
        errors: ['NOT_FOUND', 'EXTERNAL_SERVICE_ERROR'],
      },
      async ({ params, res }) => {
        const id = requireId(params.id, 'Lead');
        if (!(await deleteLead(deps.db, id))) throw notFound(id);
        await notifyLeadFollowUp(deps.temporal, id, 'deleted', idsOf(deps));
        res.status(204).end();
      },
    ),
  );

  router.use(leadActionsRouter(deps));
  router.use(leadFollowUpRouter(deps));
  router.use(leadErrors);
  return router;
}
