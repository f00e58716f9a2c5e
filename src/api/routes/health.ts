import { Router } from 'express';
import { sql } from 'kysely';
import { temporal as proto } from '@temporalio/proto';
import type { AppDeps } from '../deps';

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** GET /health (seed 001): 200 when the database and Temporal answer, else 503. Workers are reported. */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();

  router.get('/health', async (_req, res) => {
    const { temporal } = deps;
    const [database, server, workers] = await Promise.allSettled([
      withTimeout(sql`select 1`.execute(deps.db), 'database'),
      temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.workflowService.getSystemInfo({})),
      temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
        temporal.workflowService.describeTaskQueue({
          namespace: temporal.options.namespace,
          taskQueue: { name: deps.taskQueue },
          taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      ),
    ]);
    const healthy = database.status === 'fulfilled' && server.status === 'fulfilled';
    const pollers = workers.status === 'fulfilled' ? (workers.value.pollers?.length ?? 0) : undefined;
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'healthy' : 'unhealthy',
      checks: {
        database: database.status === 'fulfilled' ? 'connected' : 'disconnected',
        temporal: server.status === 'fulfilled' ? 'connected' : 'disconnected',
        workers: pollers === undefined ? 'unknown' : pollers > 0 ? `${pollers} polling ${deps.taskQueue}` : 'no workers polling',
      },
      timestamp: new Date().toISOString(),
      version: deps.version,
    });
  });

  router.get('/', (_req, res) => {
    res.json({
      message: 'WhatsApp assistant on Temporal is running',
      name: 'whatsapp-temporal',
      version: deps.version,
      docs: 'README.md#api (OpenAPI at /docs is planned)',
      health: '/health',
    });
  });

  return router;
}
