import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { SEND_KEY_PARAM } from '../../channels/twilio';
import { recordReceipts } from '../../db/messages';
import { signalInbound } from '../../temporal/chat-signals';
import { idsOf } from '../../temporal/workflow-ids';
import { numbersOf } from '../../numbers/registry';
import { routeMessages } from '../webhook/number-routing';
import type { AppDeps } from '../deps';
import { HttpError } from '../errors';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '../../config';
import { setWebhookOutcome, webhookMetrics } from '../../metrics/webhook';
import { route } from '../route-doc';
import { runMiddleware } from '../run-middleware';
import { parseTwilioInbound, parseTwilioStatus } from '../webhook/twilio-payload';
import { signalDeliveryFailures } from '../webhook/delivery-failures';
import { verifyTwilioSignature, type TwilioParams } from '../webhook/twilio-signature';
import { webhookLog, webhookLogOf } from '../webhook/webhook-log';

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>';
const FORM = 'application/x-www-form-urlencoded';

const InboundForm = z
  .object({
    MessageSid: z.string(),
    From: z.string().describe('whatsapp:+<E.164>'),
    To: z.string(),
    Body: z.string().optional(),
    WaId: z.string().optional(),
    ProfileName: z.string().optional(),
    NumMedia: z.string().optional(),
    MediaUrl0: z.string().optional(),
    MediaContentType0: z.string().optional(),
    Latitude: z.string().optional(),
    Longitude: z.string().optional(),
    Address: z.string().optional(),
    Label: z.string().optional(),
    ButtonText: z.string().optional(),
    ButtonPayload: z.string().optional(),
  })
  .loose();

const StatusForm = z
  .object({
    MessageSid: z.string(),
    MessageStatus: z.string().describe('queued, sent, delivered, read, failed, undelivered, ...'),
    ErrorCode: z.string().optional(),
    ErrorMessage: z.string().optional(),
  })
  .loose();

/**
 * Twilio's WhatsApp webhooks (seed 003): inbound messages at POST /webhooks/twilio, delivery statuses
 * at POST /webhooks/twilio/status. Both are form-encoded and signed with X-Twilio-Signature.
 */
export function twilioWebhookRouter(deps: AppDeps): Router {
  const router = Router();
  router.use(webhookMetrics('twilio'));
  // Every request is recorded after it is answered (README, webhook logs); handlers only note what they learn.
  router.use(webhookLog('twilio', deps));
  const timeoutMs = deps.temporalTimeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  // The form's bytes as they came are kept for the webhook log (its fields are parsed once, here).
  const form = express.urlencoded({ extended: false, limit: '256kb', type: FORM, verify: (_req, res, buf) => void (webhookLogOf(res as Response).raw = buf) });

  // Twilio signs the URL it called: behind a proxy only PUBLIC_BASE_URL knows it.
  const signedUrl = (req: Request) =>
    deps.twilio?.publicBaseUrl
      ? `${deps.twilio.publicBaseUrl.replace(/\/+$/, '')}${req.originalUrl}`
      : `${req.protocol}://${req.get('host')}${req.originalUrl}`;

  /**
   * The form body, read here (after the route's checks) and then its signature checked: with the
   * environment's auth token, or that of the business number the request is about (issue 13: a
   * number added at run time may be in another Twilio account). `ours` is that number as Twilio
   * writes it (To for inbound messages, From for status callbacks).
   */
  const readSigned = async (req: Request, res: Response, ours: (p: TwilioParams) => string | undefined) => {
    await runMiddleware(form, req, res);
    const logged = webhookLogOf(res);
    const numbers = numbersOf(deps);
    const addressed = await numbers.route('twilio', ours(params(req)));
    // A number added at run time is checked with its own account's token; the environment's
    // number, and one we do not serve (acknowledged, never answered), with TWILIO_AUTH_TOKEN.
    const own = addressed.number && !addressed.number.isDefault;
    const numberToken = own ? (await numbers.webhookSecrets()).twilioTokens.get(addressed.number!.id) : undefined;
    if (own ? !numberToken : !deps.twilio) {
      // Production without TWILIO_AUTH_TOKEN, or a number whose token cannot be read here: nothing is trusted.
      logged.outcome = 'not_configured';
      throw new HttpError('AUTHORIZATION_ERROR', 'The Twilio webhook is not configured');
    }
    const token = own ? numberToken : deps.twilio?.authToken;
    // Without a token (development only) signatures are not checked, like the Meta webhook without an app secret.
    if (token) {
      const header = req.get('x-twilio-signature');
      const valid = verifyTwilioSignature(token, signedUrl(req), params(req), header);
      logged.signature = valid ? 'valid' : header ? 'invalid' : 'missing';
      if (!valid) throw new HttpError('AUTHORIZATION_ERROR', 'Missing or invalid X-Twilio-Signature');
    }
  };

  // Twilio calls these, not our clients: query parameters it adds that we do not know are let
  // through (anyQuery), never refused, so a change on Twilio's side cannot stop messages or receipts.

  router.post(
    '/',
    route(
      {
        summary: 'Twilio inbound WhatsApp message',
        description: 'Called by Twilio. Answers an empty TwiML document once the message is accepted by Temporal; the reply goes out through the Messages API.',
        tag: 'webhooks',
        access: 'public',
        body: InboundForm,
        bodyContentTypes: [FORM],
        responses: { 200: { description: 'Empty TwiML', contentType: 'text/xml' } },
        errors: ['AUTHORIZATION_ERROR', 'PAYLOAD_TOO_LARGE', 'EXTERNAL_SERVICE_ERROR'],
        readsOwnBody: true,
        anyQuery: true,
      },
      async ({ req, res }) => {
        await readSigned(req, res, (p) => field(p, 'To'));
        const message = parseTwilioInbound(params(req), Date.now());
        if (typeof message === 'string') {
          // Validly signed but nothing for the bot (an SMS to the same number, say): acknowledge.
          req.log.info({ reason: message }, 'twilio webhook not handled');
          setWebhookOutcome(res, 'ignored');
          twiml(res);
          return;
        }
        // To its business number's chat; a message for a number we do not serve is never answered.
        const { routed } = await routeMessages(deps, 'twilio', [message], () => field(params(req), 'To'), req.log);
        if (routed.length === 0) {
          webhookLogOf(res).outcome = 'unknown_number';
          twiml(res);
          return;
        }
        webhookLogOf(res).counts = { messages: 1, statuses: 0, skipped: 0 };
        try {
          await deps.temporal.withDeadline(Date.now() + timeoutMs, () => signalInbound(deps.temporal, deps.taskQueue, message, idsOf(deps), routed[0]!.number));
        } catch (err) {
          req.log.error({ err }, 'twilio webhook not accepted; Twilio will retry');
          webhookLogOf(res).error = `not accepted: ${err instanceof Error ? err.message : String(err)}`;
          throw new HttpError('EXTERNAL_SERVICE_ERROR', 'Could not accept the webhook right now; retry later');
        }
        twiml(res);
      },
    ),
  );

  router.post(
    '/status',
    route(
      {
        summary: 'Twilio message status callback',
        description: `Called by Twilio for messages we sent. Statuses only move forward (sent → delivered → read, or failed). A permanent failure of a chat's reply flags the chat NeedsHuman (63016, outside the window: templates only until the user writes). The optional ?${SEND_KEY_PARAM}= is our send key, set by the sender.`,
        tag: 'webhooks',
        access: 'public',
        body: StatusForm,
        bodyContentTypes: [FORM],
        responses: { 204: 'Recorded (or not a status we track)' },
        query: z.object({ [SEND_KEY_PARAM]: z.string().optional().describe('Our send key, set by the sender on the callback URL') }),
        errors: ['AUTHORIZATION_ERROR', 'PAYLOAD_TOO_LARGE', 'EXTERNAL_SERVICE_ERROR'],
        readsOwnBody: true,
        anyQuery: true,
      },
      async ({ query, req, res }) => {
        await readSigned(req, res, (p) => field(p, 'From'));
        const key = query[SEND_KEY_PARAM];
        const receipt = parseTwilioStatus(params(req), typeof key === 'string' && key ? key : undefined, new Date());
        if (typeof receipt === 'string') {
          req.log.info({ reason: receipt }, 'twilio status not handled');
          setWebhookOutcome(res, 'ignored');
        } else {
          webhookLogOf(res).counts = { messages: 0, statuses: 1, skipped: 0 };
          await recordReceipts(deps.db, [receipt]);
          try {
            await deps.temporal.withDeadline(Date.now() + timeoutMs, () => signalDeliveryFailures(deps, [receipt]));
          } catch (err) {
            req.log.error({ err }, 'delivery failure not passed to its chat; asking Twilio to retry');
            webhookLogOf(res).error = `not accepted: ${err instanceof Error ? err.message : String(err)}`;
            throw new HttpError('EXTERNAL_SERVICE_ERROR', 'Could not accept the status right now; retry later');
          }
        }
        res.status(204).end();
      },
    ),
  );

  return router;
}

function params(req: Request): TwilioParams {
  return (req.body ?? {}) as TwilioParams;
}

/** One form field as a string (a repeated field counts as absent). */
function field(p: TwilioParams, name: string): string | undefined {
  const v = p[name];
  return typeof v === 'string' ? v : undefined;
}

function twiml(res: Response): void {
  res.status(200).type('text/xml').send(EMPTY_TWIML);
}
