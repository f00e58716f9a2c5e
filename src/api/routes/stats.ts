import { Router } from 'express';
import { z } from 'zod';
import { chatRecordStats } from '../../db/chat-stats';
import { chatCountsFor } from '../../metrics/chat-counts';
import type { AppDeps } from '../deps';
import { READ, route } from '../route-doc';

const n = z.number().int().nonnegative();

export const StatsView = z.object({
  conversations: z.object({
    total: n,
    bot: n,
    operator: n,
    needs_human: n,
    active_24h: n.describe('the user wrote within the last 24 h (free-form replies allowed)'),
    awaiting_reply: n.describe('the user wrote last'),
  }),
  messages: z.object({
    total: n,
    inbound: n,
    outbound: n,
    by_sender: z.object({ user: n, bot: n, operator: n, campaign: n }),
    today: z.object({ inbound: n, outbound: n }).describe('since 00:00 UTC'),
    pending: n.describe('outbound, not yet accepted by WhatsApp'),
    failed: n,
  }),
  temporal: z
    .object({
      running_chats: n,
      bot: n,
      operator: n,
      needs_human: n,
      counted_at: z.string().describe('when Temporal visibility answered (cached a few seconds)'),
    })
    .nullable()
    .describe('live chat workflows; null while Temporal does not answer'),
  version: z.string(),
  timestamp: z.string(),
});

/** Seed 001's GET /stats, behind authentication: it exposes business figures. */
export function statsRouter(deps: AppDeps): Router {
  const router = Router();
  const counts = chatCountsFor(deps.temporal, deps.taskQueue);

  router.get(
    '/stats',
    route(
      {
        summary: 'System statistics',
        description:
          "Seed 001's GET /stats, here under /api/v1 with read access because it exposes business figures. " +
          'Conversations and messages come from the Postgres record; `temporal` counts the running chat workflows ' +
          'by ChatMode and NeedsHuman. Seed 001 also reported its Redis debounce buffer and dedup cache: here both ' +
          "live in each chat's workflow state (no global figure), so they are not reported.",
        tag: 'system',
        access: READ,
        responses: { 200: { description: 'Statistics', schema: StatsView } },
      },
      async () => {
        const [record, live] = await Promise.all([chatRecordStats(deps.db), counts.get()]);
        const body: z.infer<typeof StatsView> = {
          ...record,
          temporal: live
            ? {
                running_chats: live.bot + live.operator,
                bot: live.bot,
                operator: live.operator,
                needs_human: live.needsHuman,
                counted_at: live.at.toISOString(),
              }
            : null,
          version: deps.version,
          timestamp: new Date().toISOString(),
        };
        return body;
      },
    ),
  );

  return router;
}
