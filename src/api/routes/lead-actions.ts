import { Router, type Request } from 'express';
import { assignLead, bulkAssignLeads, bulkUpdateLeadStatus, closeLeadLost, convertLead, markLeadContacted, setLeadScore } from '../../db/lead-actions';
import { listLeadActivities } from '../../db/lead-queries';
import type { Lead } from '../../db/schema';
import { READ_ROLES, requireRole } from '../auth';
import type { AppDeps } from '../deps';
import { requireId } from '../ids';
import { AssignBody, BulkAssignBody, BulkStatusBody, CloseLostBody, ContactedBody, ConvertBody, PagingQuery, ScoreBody, leadView, notFound, requireLead } from './lead-schemas';

import { endFollowUpIfClosed } from './lead-follow-up';

const actor = (req: Request) => req.principal?.label ?? null;

/** One lead's actions; each writes its activity in the same transaction as the change. */
export function leadActionsRouter(deps: AppDeps): Router {
  const router = Router();
  const write = requireRole('sales');
  const read = requireRole(...READ_ROLES);

  const action = (path: string, run: (id: number, req: Request) => Promise<Lead | undefined>) =>
    router.post(`/:id/${path}`, write, async (req, res) => {
      const id = requireId(req.params.id, 'Lead');
      const lead = await run(id, req);
      if (!lead) throw notFound(id);
      await endFollowUpIfClosed(deps, lead);
      res.json(await leadView(deps.db, lead));
    });

  action('assign', (id, req) => assignLead(deps.db, id, AssignBody.parse(req.body ?? {}).assigned_to, actor(req)));
  action('contacted', (id, req) => markLeadContacted(deps.db, id, ContactedBody.parse(req.body ?? {}).note ?? null, actor(req)));
  action('score', (id, req) => {
    const b = ScoreBody.parse(req.body ?? {});
    return setLeadScore(deps.db, id, b.lead_score, b.reason ?? null, actor(req));
  });
  action('convert', (id, req) => convertLead(deps.db, id, ConvertBody.parse(req.body ?? {}).note ?? null, actor(req)));
  action('close-lost', (id, req) => closeLeadLost(deps.db, id, CloseLostBody.parse(req.body ?? {}).reason, actor(req)));

  router.get('/:id/activities', read, async (req, res) => {
    const lead = await requireLead(deps.db, req);
    const q = PagingQuery.parse(req.query);
    const { rows, total } = await listLeadActivities(deps.db, lead.id, q.skip, q.limit);
    res.json({ lead_id: lead.id, activities: rows, total, skip: q.skip, limit: q.limit });
  });

  return router;
}

/** Many leads at once, all or nothing; ids that name no lead are reported, not fatal. */
export function leadBulkRouter(deps: AppDeps): Router {
  const router = Router();
  const write = requireRole('sales');

  router.post('/bulk/assign', write, async (req, res) => {
    const b = BulkAssignBody.parse(req.body ?? {});
    res.json(await bulkAssignLeads(deps.db, b.lead_ids, b.assigned_to, actor(req)));
  });

  router.post('/bulk/update-status', write, async (req, res) => {
    const b = BulkStatusBody.parse(req.body ?? {});
    const result = await bulkUpdateLeadStatus(deps.db, b.lead_ids, b.status, actor(req));
    for (const id of b.lead_ids) await endFollowUpIfClosed(deps, { id, status: b.status });
    res.json(result);
  });

  return router;
}
