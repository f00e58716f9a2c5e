import express, { Router } from 'express';
import type { Client } from '@temporalio/client';
import { signalInbound, type ChatNumber } from '../../temporal/chat-signals';
import { numbersOf, type BusinessNumber } from '../../numbers/registry';
import { routeMessages, type RoutedMessages } from '../webhook/number-routing';
import { idsOf, type WorkflowIds } from '../../temporal/workflow-ids';
import type { InboundMessage } from '../../workflows/definitions';
import { recordReceipts } from '../../db/messages';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '../../config';
import { route } from '../route-doc';
import { runMiddleware } from '../run-middleware';
import { z } from 'zod';
import { setWebhookOutcome, webhookMetrics } from '../../metrics/webhook';
import { webhookElementsSkipped } from '../../metrics/registry';
import { verifySignature } from '../webhook/signature';
import { MetaWebhookSchema, parseMetaWebhook } from '../webhook/meta-payload';
import { signalDeliveryFailures } from '../webhook/delivery-failures';
import { webhookLog, webhookLogOf } from '../webhook/webhook-log';
import { isDatabaseUnavailable } from '../db-unavailable';

/** GET handshake and signed POSTs from Meta (SPEC §5); mounted at /webhooks/whatsapp and /webhook. */
export function whatsAppWebhookRouter(deps: AppDeps): Router {
  const router = Router();
  const timeoutMs = deps.temporalTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  router.use(webhookMetrics('meta'));
  // Every request is recorded after it is answered (README, webhook logs); handlers only note what they learn.
  router.use(webhookLog('meta', deps));
  // Meta calls these, not our clients: query parameters Meta adds that we do not know are let
  // through (anyQuery), never refused, so a change on Meta's side cannot stop verification or delivery.

  router.get(
    '/',
    route(
      {
        summary: "Meta's webhook verification handshake",
        description: 'Answers hub.challenge as text when hub.verify_token matches WHATSAPP_VERIFY_TOKEN; otherwise 403. Other query parameters are ignored.',
        access: 'public',
        tag: 'webhooks',
        query: z.object({ 'hub.mode': z.string().optional(), 'hub.verify_token': z.string().optional(), 'hub.challenge': z.string().optional() }),
        anyQuery: true,
        responses: { 200: { description: 'The challenge, echoed', contentType: 'text/plain' } },
        errors: ['AUTHORIZATION_ERROR'],
      },
      async ({ query, res }) => {
        const { 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': challenge } = query;
        // The environment's token, or that of a number in another Meta app (issue 13).
        const known = async (t: string) => t === deps.whatsapp.verifyToken || (await numbersOf(deps).webhookSecrets()).metaVerifyTokens.includes(t);
        if (mode === 'subscribe' && token && typeof challenge === 'string' && (await known(token))) {
          setWebhookOutcome(res, 'verified');
          res.type('text/plain').send(challenge);
          return;
        }
        throw new HttpError('AUTHORIZATION_ERROR', 'Verification failed');
      },
    ),
  );

  // The raw bytes are needed for the signature; JSON is parsed only after it checks out.
  const readRaw = express.raw({ type: () => true, limit: '1mb' });
  router.post(
    '/',
    route(
      {
        summary: 'Messages and delivery statuses from Meta',
        description:
          'Checks X-Hub-Signature-256 over the raw body (401 when missing or wrong, nothing processed), signals each chat in order and records statuses, then answers 200. Answers 502 when Temporal cannot take the messages, so Meta retries. Validly signed events it does not handle are acknowledged and logged. Each message and status is validated on its own: an invalid one is logged, counted and skipped, the rest are processed. Texts are cut at 4,096 characters, characters Postgres cannot store are stripped, impossible timestamps are replaced by the receive time (see README, hostile input).',
        access: 'public',
        tag: 'webhooks',
        body: MetaWebhookSchema,
        responses: {
          200: {
            description: 'Accepted',
            schema: z.object({
              status: z.enum(['received', 'ignored']),
              messages: z.number().int().optional(),
              statuses: z.number().int().optional(),
              skipped: z.number().int().optional().describe('Invalid elements left out (logged); the rest of the batch was processed'),
              unrouted: z
                .number()
                .int()
                .optional()
                .describe('Messages for a business number this deployment does not serve or has disabled: acknowledged, logged, never answered'),
            }),
          },
        },
        errors: ['AUTHENTICATION_ERROR', 'EXTERNAL_SERVICE_ERROR'],
        // Read here as raw bytes (the signature covers them), checked against the schema only once signed.
        readsOwnBody: true,
        anyQuery: true,
      },
      async ({ req, res }) => {
        const logged = webhookLogOf(res);
        await runMiddleware(readRaw, req, res);
        const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        logged.raw = raw;
        const signedBy = await metaSigner(deps, raw, req.get('x-hub-signature-256'));
        if (signedBy.kind !== 'unchecked') logged.signature = signedBy.kind === 'none' ? (req.get('x-hub-signature-256') ? 'invalid' : 'missing') : 'valid';
        if (signedBy.kind === 'none') throw new HttpError('AUTHENTICATION_ERROR', 'Missing or invalid X-Hub-Signature-256');
        let json: unknown;
        try {
          json = JSON.parse(raw.toString('utf8'));
        } catch {
          throw new HttpError('VALIDATION_ERROR', 'Request body is not valid JSON');
        }
        logged.json = json;
        const payload = MetaWebhookSchema.safeParse(json);
        if (!payload.success) {
          // Signed by Meta but not a shape we know: acknowledge so Meta does not retry forever.
          req.log.warn({ issues: payload.error.issues.slice(0, 3) }, 'webhook payload not understood; acknowledged');
          setWebhookOutcome(res, 'ignored');
          res.json({ status: 'ignored' });
          return;
        }
        const { messages: all, addressedTo, receipts, ignored, skipped } = parseMetaWebhook(payload.data);
        // Each message to its business number's chat; those for a number we do not serve are never answered.
        const { routed, refused } = await routeMessages(
          deps,
          'meta',
          all,
          (m) => addressedTo.get(m.wamid),
          req.log,
          (number) => signedFor(deps, signedBy, number),
        );
        const messages = routed.flatMap((r) => r.messages);
        if (refused > 0 && messages.length + receipts.length === 0) logged.outcome = 'unknown_number';
        if (ignored.length) req.log.info({ ignored }, 'webhook events not handled');
        if (skipped.length) {
          // The rest of the batch goes on: Meta never resends a batch it got 200 for.
          req.log.warn({ skipped: skipped.slice(0, 20), count: skipped.length }, 'invalid webhook elements skipped');
          for (const s of skipped) webhookElementsSkipped.inc({ provider: 'meta', kind: s.kind });
        }
        if (messages.length + receipts.length === 0 && refused === 0) setWebhookOutcome(res, 'ignored');
        logged.counts = { messages: messages.length, statuses: receipts.length, skipped: skipped.length };

        try {
          await Promise.all([
            deps.temporal.withDeadline(Date.now() + timeoutMs, () => signalChats(deps.temporal, deps.taskQueue, routed, idsOf(deps))),
            recordReceipts(deps.db, receipts).then(() => deps.temporal.withDeadline(Date.now() + timeoutMs, () => signalDeliveryFailures(deps, receipts))),
          ]);
        } catch (err) {
          req.log.error({ err }, 'webhook not accepted; Meta will retry');
          logged.error = `not accepted: ${err instanceof Error ? err.message : String(err)}`;
          logged.outcome = isDatabaseUnavailable(err) ? 'database_unavailable' : 'temporal_unavailable';
          throw new HttpError('EXTERNAL_SERVICE_ERROR', 'Could not accept the webhook right now; retry later');
        }
        res.json({
          status: 'received',
          messages: messages.length,
          statuses: receipts.length,
          ...(skipped.length ? { skipped: skipped.length } : {}),
          ...(refused ? { unrouted: refused } : {}),
        });
      },
    ),
  );

  return router;
}

/**
 * Whose Meta app signed the body (issue 13): the environment's (WHATSAPP_APP_SECRET), or the apps
 * of numbers added with their own app secret; `unchecked` only without any secret (development).
 * The numbers' secrets are read only when the environment's does not match.
 */
type MetaSigner = { kind: 'environment' } | { kind: 'numbers'; ids: Set<number> } | { kind: 'unchecked' } | { kind: 'none' };

async function metaSigner(deps: AppDeps, raw: Buffer, header: string | undefined): Promise<MetaSigner> {
  const env = deps.whatsapp.appSecret;
  if (env && verifySignature(raw, header, env)) return { kind: 'environment' };
  const own = (await numbersOf(deps).webhookSecrets()).metaAppSecrets;
  const ids = new Set([...own].filter(([, secret]) => verifySignature(raw, header, secret)).map(([id]) => id));
  if (ids.size > 0) return { kind: 'numbers', ids };
  // Without WHATSAPP_APP_SECRET (development only) the environment's numbers take unsigned requests.
  return env ? { kind: 'none' } : { kind: 'unchecked' };
}

/**
 * A message is taken for a number only when that number's app signed it: a number with its own
 * app secret by that secret, any other by the environment's. One app's secret cannot speak for
 * another app's numbers.
 */
async function signedFor(deps: AppDeps, signer: MetaSigner, number: BusinessNumber): Promise<boolean> {
  if (signer.kind === 'numbers') return signer.ids.has(number.id);
  if (number.isDefault) return true;
  return !(await numbersOf(deps).webhookSecrets()).metaAppSecrets.has(number.id);
}

/** Order is kept per chat (sequential signals); different chats are signalled in parallel. A chat is a user with one of our numbers. */
async function signalChats(client: Client, taskQueue: string, routed: RoutedMessages[], ids: WorkflowIds): Promise<void> {
  const chats: { number: ChatNumber; messages: InboundMessage[] }[] = [];
  for (const { number, messages } of routed) {
    const byUser = new Map<string, InboundMessage[]>();
    for (const m of messages) byUser.set(m.waId, [...(byUser.get(m.waId) ?? []), m]);
    for (const userMessages of byUser.values()) chats.push({ number, messages: userMessages });
  }
  await Promise.all(
    chats.map(async ({ number, messages }) => {
      for (const message of messages) await signalInbound(client, taskQueue, message, ids, number);
    }),
  );
}
