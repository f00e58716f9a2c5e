import type { RequestHandler, Response } from 'express';
import { webhookDuration, webhookRequests, type WebhookProvider } from './registry';

export type WebhookOutcome = 'accepted' | 'ignored' | 'verified' | 'rejected' | 'invalid' | 'not_found' | 'error' | 'aborted' | 'other';

const chosen = new WeakMap<Response, WebhookOutcome>();

/**
 * Names the outcome of a successful webhook answer where the status code alone cannot tell
 * (a validly signed event we do not handle is 200 'ignored'; a handshake is 200 'verified').
 */
export function setWebhookOutcome(res: Response, outcome: WebhookOutcome): void {
  chosen.set(res, outcome);
}

/** The outcome a handler named with setWebhookOutcome, if any (the webhook log reads it too). */
export function webhookOutcomeOf(res: Response): WebhookOutcome | undefined {
  return chosen.get(res);
}

/**
 * Counts and times every request of a webhook router, however it ends (thrown errors reach the
 * error middleware first, so the final status is known): `router.use(webhookMetrics('twilio'))`.
 */
export function webhookMetrics(provider: WebhookProvider): RequestHandler {
  return (_req, res, next) => {
    const stop = webhookDuration.startTimer({ provider });
    res.once('close', () => {
      stop();
      const outcome = res.writableFinished ? (chosen.get(res) ?? outcomeOf(res.statusCode)) : 'aborted';
      webhookRequests.inc({ provider, outcome });
    });
    next();
  };
}

function outcomeOf(status: number): WebhookOutcome {
  if (status < 300) return 'accepted';
  if (status === 401 || status === 403) return 'rejected';
  if (status === 404) return 'not_found';
  if (status >= 400 && status < 500) return 'invalid';
  if (status >= 500) return 'error';
  return 'other';
}
