import { Router } from 'express';
import { sql } from 'kysely';
import { temporal as proto } from '@temporalio/proto';
import { z } from 'zod';
import type { Connection } from '@temporalio/client';
import { searchAttributeStatus } from '../../temporal/search-attributes';
import { allSearchAttributeKeys } from '../../workflows/search-attributes';
import type { AppDeps } from '../deps';
import { route } from '../route-doc';

const Health = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  checks: z.object({
    database: z.enum(['connected', 'disconnected']),
    temporal: z.enum(['connected', 'disconnected']),
    workers: z.string().describe('How many workers poll the task queue'),
    search_attributes: z
      .string()
      .describe('"registered", or which of the chat, campaign and lead search attributes the namespace lacks or has with another type (signals would fail: unhealthy)'),
  }),
  timestamp: z.string(),
  version: z.string(),
  llm: z.string().optional().describe('The LLM answering chats: "offline responder" (no OPENAI_API_KEY) or "<model> at <host>"'),
});

const CHECK_TIMEOUT_MS = 2000;

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), CHECK_TIMEOUT_MS).unref()),
  ]);
}

/** Once all are there they stay; while any is missing, every call looks again. */
const ATTRIBUTES_RECHECK_MS = 60_000;

/**
 * GET /health (seed 001): 200 when the database and Temporal answer and the namespace has the
 * search attributes every chat is started with, else 503. Workers are reported.
 */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  let attributesOkUntil = 0;

  /** "registered", or what is missing or mistyped: without them every webhook's signal-with-start fails. */
  async function searchAttributes(): Promise<string> {
    if (Date.now() < attributesOkUntil) return 'registered';
    const { temporal } = deps;
    const { missing, mistyped } = await temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
      searchAttributeStatus(temporal.connection as Connection, temporal.options.namespace, allSearchAttributeKeys),
    );
    if (missing.length + mistyped.length === 0) {
      attributesOkUntil = Date.now() + ATTRIBUTES_RECHECK_MS;
      return 'registered';
    }
    return [missing.length ? `missing: ${missing.join(', ')}` : '', mistyped.length ? `wrong type: ${mistyped.join(', ')}` : ''].filter(Boolean).join('; ');
  }

  router.get(
    '/health',
    route({
      summary: 'Liveness of the API, its database and Temporal',
      access: 'public',
      tag: 'system',
      responses: {
        200: { description: 'Healthy', schema: Health },
        503: { description: 'The database or Temporal does not answer, or the namespace lacks search attributes', schema: Health },
      },
    }),
    async (_req, res) => {
    const { temporal } = deps;
    const [database, server, workers, attributes] = await Promise.allSettled([
      withTimeout(sql`select 1`.execute(deps.db), 'database'),
      temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () => temporal.workflowService.getSystemInfo({})),
      temporal.withDeadline(Date.now() + CHECK_TIMEOUT_MS, () =>
        temporal.workflowService.describeTaskQueue({
          namespace: temporal.options.namespace,
          taskQueue: { name: deps.taskQueue },
          taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        }),
      ),
      searchAttributes(),
    ]);
    const attributesOk = attributes.status === 'fulfilled' && attributes.value === 'registered';
    const healthy = database.status === 'fulfilled' && server.status === 'fulfilled' && attributesOk;
    const pollers = workers.status === 'fulfilled' ? (workers.value.pollers?.length ?? 0) : undefined;
    res.status(healthy ? 200 : 503).json({
      status: healthy ? 'healthy' : 'unhealthy',
      checks: {
        database: database.status === 'fulfilled' ? 'connected' : 'disconnected',
        temporal: server.status === 'fulfilled' ? 'connected' : 'disconnected',
        workers: pollers === undefined ? 'unknown' : pollers > 0 ? `${pollers} polling ${deps.taskQueue}` : 'no workers polling',
        search_attributes: attributes.status === 'fulfilled' ? attributes.value : 'unknown (Temporal did not answer)',
      },
      timestamp: new Date().toISOString(),
      version: deps.version,
      llm: deps.llmLabel,
    });
  });

  router.get(
    '/',
    route({ summary: 'What this is and where its docs are', access: 'public', tag: 'system', responses: { 200: 'Name, version and links' } }),
    (_req, res) => {
      res.json({
        message: 'WhatsApp assistant on Temporal is running',
        name: 'whatsapp-temporal',
        version: deps.version,
        docs: '/docs',
        console: '/console',
        openapi: '/openapi.json',
        health: '/health',
        metrics: '/metrics',
      });
    },
  );

  return router;
}
