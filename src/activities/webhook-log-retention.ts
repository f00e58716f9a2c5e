import { pruneWebhookLogs } from '../db/webhook-logs';
import type { ActivityDeps } from './index';

export function createWebhookLogActivities(deps: Pick<ActivityDeps, 'db'>) {
  return {
    /** Deletes up to `limit` webhook log rows received before `before` (epoch ms), oldest first; how many went. */
    async pruneWebhookLogBatch({ before, limit }: { before: number; limit: number }): Promise<number> {
      return pruneWebhookLogs(deps.db, new Date(before), limit);
    },
  };
}
