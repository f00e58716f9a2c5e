import { Router, type Request, type RequestHandler } from 'express';
import { listLeads, type LeadList } from '../../db/lead-queries';
import { updateLead } from '../../db/lead-update';
import { createLead, deleteLead } from '../../db/leads';
import { READ_ROLES, requireRole } from '../auth';
import type { AppDeps } from '../deps';
import { requireId } from '../ids';
import { leadActionsRouter, leadBulkRouter } from './lead-actions';
import { CreateLeadBody, LeadListQuery, UpdateLeadBody, leadErrors, leadView, leadViews, notFound, requireLead } from './lead-schemas';
import { leadStatsRouter } from './lead-stats';
import { endFollowUpIfClosed, leadFollowUpRouter } from './lead-follow-up';
import { notifyLeadFollowUp } from '../../temporal/lead-follow-ups';

const actor = (req: Request) => req.principal?.label ?? null;

/** Seed 004's leads: sales (and admin) write, every reading role reads. */
export function leadsRouter(deps: AppDeps): Router {
  const router = Router();
  const write = requireRole('sales');
  const read = requireRole(...READ_ROLES);

  router.post('/', write, async (req, res) => {
    const b = CreateLeadBody.parse(req.body ?? {});
    const lead = await createLead(deps.db, b, actor(req));
    res.status(201).json(await leadView(deps.db, lead));
  });

  const list =
    (kind: LeadList, mine = false): RequestHandler =>
    async (req, res) => {
      const q = LeadListQuery.parse(req.query);
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
      res.json({ leads: await leadViews(deps.db, rows), total, skip: q.skip, limit: q.limit, ...(mine ? { assigned_to: assignedTo } : {}) });
    };
  router.get('/', read, list('all'));
  router.get('/assigned', read, list('all', true));
  router.get('/high-priority', read, list('high_priority'));
  router.get('/overdue', read, list('overdue'));

  // Static paths first: "stats" and "bulk" are not lead ids.
  router.use(leadStatsRouter(deps));
  router.use(leadBulkRouter(deps));

  router.get('/:id', read, async (req, res) => {
    res.json(await leadView(deps.db, await requireLead(deps.db, req)));
  });

  router.put('/:id', write, async (req, res) => {
    const id = requireId(req.params.id, 'Lead');
    const b = UpdateLeadBody.parse(req.body ?? {});
    const lead = await updateLead(deps.db, id, b, actor(req));
    if (!lead) throw notFound(id);
    await endFollowUpIfClosed(deps, lead);
    res.json(await leadView(deps.db, lead));
  });

  router.delete('/:id', write, async (req, res) => {
    const id = requireId(req.params.id, 'Lead');
    if (!(await deleteLead(deps.db, id))) throw notFound(id);
    await notifyLeadFollowUp(deps.temporal, id, 'deleted');
    res.status(204).end();
  });

  router.use(leadActionsRouter(deps));
  router.use(leadFollowUpRouter(deps));
  router.use(leadErrors);
  return router;
}
