import { Router } from 'express';
import { z } from 'zod';
import type { AppDeps } from '../deps';
import { readinessChecker } from '../readiness';
import { route } from '../route-doc';

const Checks = z.object({
  database: z.enum(['connected', 'disconnected']),
  temporal: z.enum(['connected', 'disconnected']),
  namespace: z.string().describe('"found", or that the namespace does not exist yet'),
  search_attributes: z
    .string()
    .describe('"registered", or which of the chat, campaign and lead search attributes the namespace lacks or has with another type'),
  workers: z.string().describe('How many workers poll the task queue now (seen within the last 90 s)'),
});

const Health = z.object({
  status: z.enum(['healthy', 'unhealthy']),
  checks: Checks,
  timestamp: z.string(),
  version: z.string(),
  llm: z.string().optional().describe('The LLM answering chats: "offline responder" (no OPENAI_API_KEY) or "<model> at <host>"'),
});

const NOT_READY = 'The database or Temporal does not answer, the namespace or a search attribute is missing, or no worker polls the task queue';

/**
 * GET /health (seed 001) and GET /ready (for orchestrators' readiness probes): 200 only when a
 * webhook would be taken and answered (readiness.ts), else 503 naming what is missing. GET /live
 * is the liveness probe: 200 while the process serves requests, whatever its dependencies do, so
 * an orchestrator never restarts an API that is only waiting for Temporal.
 */
export function healthRouter(deps: AppDeps): Router {
  const router = Router();
  const readiness = readinessChecker(deps);

  router.get(
    '/health',
    route(
      {
        summary: 'Health of the API, its database, Temporal and the workers',
        access: 'public',
        tag: 'system',
        responses: { 200: { description: 'Healthy: webhooks are taken and answered', schema: Health }, 503: { description: NOT_READY, schema: Health } },
      },
      async ({ res }) => {
        const { ready, checks } = await readiness();
        res
          .status(ready ? 200 : 503)
          .json({ status: ready ? 'healthy' : 'unhealthy', checks, timestamp: new Date().toISOString(), version: deps.version, llm: deps.llmLabel });
      },
    ),
  );

  router.get(
    '/ready',
    route(
      {
        summary: 'Readiness probe: the same checks as /health',
        access: 'public',
        tag: 'system',
        responses: {
          200: { description: 'Ready', schema: z.object({ status: z.literal('ready'), checks: Checks }) },
          503: { description: NOT_READY, schema: z.object({ status: z.literal('not_ready'), checks: Checks }) },
        },
      },
      async ({ res }) => {
        const { ready, checks } = await readiness();
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
      },
    ),
  );

  router.get(
    '/live',
    route(
      {
        summary: 'Liveness probe: 200 while the process serves requests',
        access: 'public',
        tag: 'system',
        responses: { 200: { description: 'Alive', schema: z.object({ status: z.literal('alive') }) } },
      },
      () => ({ status: 'alive' }),
    ),
  );

  router.get(
    '/',
    route({ summary: 'What this is and where its docs are', access: 'public', tag: 'system', responses: { 200: 'Name, version and links' } }, () => ({
      message: 'WhatsApp assistant on Temporal is running',
      name: 'whatsapp-temporal',
      version: deps.version,
      docs: '/docs',
      console: '/console',
      openapi: '/openapi.json',
      health: '/health',
      metrics: '/metrics',
    })),
  );

  return router;
}
