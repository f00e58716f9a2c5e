import { Router } from 'express';
import { chatCountsFor, exposeChatCounts } from '../../metrics/chat-counts';
import { registry } from '../../metrics/registry';
import type { AppDeps } from '../deps';
import { route } from '../route-doc';

/**
 * GET /metrics (open, SPEC §5): this process's registry. In the API that is webhook requests and
 * latency, chat signals and chats by mode; the worker serves its LLM and send series on
 * WORKER_METRICS_PORT (see src/metrics/registry.ts).
 */
export function metricsRouter(deps: AppDeps): Router {
  const router = Router();
  exposeChatCounts(chatCountsFor(deps.temporal, deps.taskQueue));

  router.get(
    '/metrics',
    route(
      {
        summary: 'Prometheus metrics',
        description:
          'Prometheus text format. The API reports whatsapp_webhook_requests_total, whatsapp_webhook_duration_seconds, ' +
          'chat_signals_total, chats_by_mode and chats_needing_human (counted in Temporal visibility, cached a few ' +
          'seconds; absent while Temporal does not answer) and the process metrics. LLM, send and debounce series ' +
          'come from the worker, on its own port (WORKER_METRICS_PORT, default 9464).',
        tag: 'system',
        access: 'public',
        responses: { 200: { description: 'Prometheus exposition format 0.0.4', contentType: 'text/plain' } },
      },
      async ({ res }) => {
        res.set('Content-Type', registry.contentType).send(await registry.metrics());
      },
    ),
  );

  return router;
}
