import { ApplicationFailure, Context } from '@temporalio/activity';
import { WorkflowNotFoundError } from '@temporalio/client';
import { SendError } from '../channels/types';
import { whatsAppSends } from '../metrics/registry';
import { audiencePage, type Audience, type AudienceMember } from '../db/campaign-audience';
import {
  campaignClientKey,
  markChatNotified,
  markRecipientFailed,
  markRecipientSent,
  recipientCounts,
  recordUnsendable,
  releaseRecipient,
  reserveRecipient,
} from '../db/campaign-recipients';
import { setOptInByWaId } from '../db/contacts';
import { idsOf } from '../temporal/workflow-ids';
import { numbersOf } from '../numbers/registry';
import { TemplateRenderError } from '../templates/render';
import { MAX_SEND_RATE, type CampaignCounts } from '../workflows/campaign-definitions';
import { campaignMessageSignal } from '../workflows/definitions';
import { campaignContent } from './campaign-content';
import { loadCampaignForSending } from './campaign-run';
import type { ActivityDeps } from './index';

export interface SendCampaignBatchInput {
  campaignId: number;
  afterContactId: number;
  limit: number;
  ratePerSecond: number;
  /** Epoch ms the first send of this batch is due (the previous batch's pace continues). */
  notBefore?: number;
  /** Only recipients whose earlier send is still unconfirmed after the grace period. */
  unconfirmedOnly?: boolean;
  /** Epoch ms of the sends in the previous page's last second. */
  recentSends?: number[];
}

export interface SendCampaignBatchResult {
  lastContactId: number;
  exhausted: boolean;
  nextSendAt: number;
  recentSends: number[];
  counts: CampaignCounts;
}

/** Messages handed to WhatsApp at once; enough to hold 80/s when Graph takes a few hundred ms. */
const MAX_IN_FLIGHT = 32;
/** A batch that starts later than this behind schedule restarts the pace instead of bursting. */
const MAX_CATCH_UP_MS = 500;

/** Throttle answers for one recipient before the batch gives up and lets Temporal back off. */
const MAX_THROTTLES = 6;
// Meta error 131050: the user stopped marketing messages from this business in WhatsApp itself.
const USER_STOPPED_MARKETING = 131050;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));

/** Waits in short steps, so a shutdown (cancellation) is noticed during a long back-off. */
async function waitUntil(at: number, ctx: Context): Promise<void> {
  for (let left = at - Date.now(); left > 0 && !ctx.cancellationSignal.aborted; left = at - Date.now()) {
    await sleep(Math.min(left, 1000));
  }
}

export function createCampaignSenderActivities(deps: Pick<ActivityDeps, 'db' | 'whatsapp' | 'log' | 'temporal' | 'ids' | 'numbers'>) {
  const { db, log } = deps;
  const ids = idsOf(deps);
  const numbers = numbersOf(deps);

  /** Sends one page of the audience at the campaign's rate; each recipient at most once, ever. */
  async function sendCampaignBatch(input: SendCampaignBatchInput): Promise<SendCampaignBatchResult> {
    const ctx = Context.current();
    const { campaign, template } = await loadCampaignForSending(db, input.campaignId);
    const unconfirmedOf = input.unconfirmedOnly ? campaign.id : undefined;
    // The campaign's number sends (issue 13); one that was disabled since stops the batch until enabled.
    const number = await numbers.byId(campaign.number_id);
    if (!number?.enabled) {
      throw ApplicationFailure.create({ type: 'NumberUnavailable', message: `campaign ${campaign.id}'s number ${campaign.number_id} is disabled or gone` });
    }
    const whatsapp = await numbers.sender(campaign.number_id);
    const members = await audiencePage(db, campaign.audience as Audience, input.afterContactId, input.limit, unconfirmedOf, campaign.number_id);
    const interval = 1000 / input.ratePerSecond;
    const now = Date.now();
    // The pace: send k is due at start + k * interval. It is restarted (never caught up in a
    // burst) when the batch falls more than MAX_CATCH_UP_MS behind it.
    let start = input.notBefore !== undefined && now - input.notBefore <= MAX_CATCH_UP_MS ? input.notBefore : now;
    let slot = 0;
    // Send times of the last second, carried from the previous page: whatever the catch-up, no
    // second ever holds more than WhatsApp's per-number ceiling.
    const lastSecond = (input.recentSends ?? []).filter((t) => t > now - 1000);
    const inFlight = new Set<Promise<void>>();
    const throttles = new Map<number, number>();
    let throttleStreak = 0;
    const queue: AudienceMember[] = [...members];
    let failure: unknown;
    // Heartbeats on a timer, not per send: a Graph call hanging longer than the heartbeat timeout
    // must not make Temporal start a second attempt while this one is still sending.
    const heartbeat = setInterval(() => ctx.heartbeat(), 1000);

    const sendLabels = { provider: whatsapp.provider, sender_type: 'campaign' };
    const sendOne = async (member: AudienceMember, content: ReturnType<typeof campaignContent>, clientKey: string) => {
      try {
        const { wamid } = await whatsapp.send(member.wa_id, content, { callbackData: clientKey });
        whatsAppSends.inc({ ...sendLabels, status: 'sent' });
        throttleStreak = 0;
        const sentAt = await markRecipientSent(db, campaign.id, member.contact_id, clientKey, wamid);
        await notifyChat(member, wamid, content.kind === 'text' ? content.text : content.template.text, sentAt);
      } catch (err) {
        if (!(err instanceof SendError)) throw err;
        whatsAppSends.inc({ ...sendLabels, status: err.ambiguous ? 'unconfirmed' : err.retryable ? 'retrying' : 'failed' });
        if (err.ambiguous) {
          await markRecipientFailed(db, campaign.id, member.contact_id, 'unconfirmed', { message: err.message });
        } else if (err.retryable) {
          // Nothing went out: undo the reservation, slow the whole batch down, try this one again.
          await releaseRecipient(db, campaign.id, member.contact_id, clientKey);
          const n = (throttles.get(member.contact_id) ?? 0) + 1;
          throttles.set(member.contact_id, n);
          if (n > MAX_THROTTLES) {
            throw ApplicationFailure.create({ type: 'WhatsAppThrottled', message: err.message, nextRetryDelay: err.retryAfterMs });
          }
          // Consecutive throttle answers across the batch make the back-off grow.
          const backoff = err.retryAfterMs ?? Math.min(30_000, 500 * 2 ** ++throttleStreak);
          log.warn({ campaignId: campaign.id, code: err.code, backoffMs: backoff }, 'WhatsApp is throttling the campaign; backing off');
          start = Math.max(start + slot * interval, Date.now() + backoff);
          slot = 0;
          queue.push(member);
        } else {
          await markRecipientFailed(db, campaign.id, member.contact_id, 'failed', { code: err.code, message: err.message });
          if (err.code === USER_STOPPED_MARKETING) {
            await setOptInByWaId(db, member.wa_id, false, { source: 'whatsapp', reason: err.message, at: new Date() });
          }
        }
      }
    };

    // A chat that exists hears of the message now; one that does not is not started for it (most
    // recipients never write back): when it starts, it reads the message from Postgres.
    const notifyChat = async (member: AudienceMember, wamid: string, text: string, sentAt: Date) => {
      try {
        await deps.temporal.workflow
          .getHandle(ids.chat(member.wa_id, campaign.number_id))
          .signal(campaignMessageSignal, { wamid, campaignId: campaign.id, text, at: sentAt.getTime() });
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
      await markChatNotified(db, campaign.id, member.contact_id);
    };

    const stopping = () => ctx.cancellationSignal.aborted || failure !== undefined;
    try {
      // A throttled recipient goes back on the queue, possibly after the last one was started:
      // the batch ends only when the queue is drained and nothing is in flight.
      for (let i = 0; !stopping() && (i < queue.length || inFlight.size > 0);) {
        if (i >= queue.length) {
          await Promise.race(inFlight);
          continue;
        }
        const member = queue[i++]!;
        const clientKey = campaignClientKey(campaign.id, member.contact_id);
        let content: ReturnType<typeof campaignContent>;
        try {
          content = campaignContent(template, member, campaign.variables, Date.now());
        } catch (err) {
          if (!(err instanceof TemplateRenderError)) throw err;
          const error = { reason: 'missing_variable', missing: err.missing, message: err.message };
          await recordUnsendable(db, { campaignId: campaign.id, contactId: member.contact_id, waId: member.wa_id, clientKey, kind: 'template' }, error);
          continue;
        }
        if (Date.now() - (start + slot * interval) > MAX_CATCH_UP_MS) {
          start = Date.now();
          slot = 0;
        }
        // Wait for the slot before reserving: a reservation is a promise to send right away.
        // Catching up after a pause between batches never goes faster than WhatsApp's ceiling.
        await waitUntil(start + slot * interval, ctx);
        if (lastSecond.length >= MAX_SEND_RATE) await waitUntil(lastSecond[lastSecond.length - MAX_SEND_RATE]! + 1000, ctx);
        lastSecond.push(Date.now());
        if (lastSecond.length > MAX_SEND_RATE) lastSecond.shift();
        const reservation = await reserveRecipient(
          db,
          {
            campaignId: campaign.id,
            contactId: member.contact_id,
            waId: member.wa_id,
            clientKey,
            kind: content.kind,
            text: content.kind === 'text' ? content.text : content.template.text,
            templateName: template.name,
            provider: whatsapp.provider,
            numberId: campaign.number_id,
          },
          input.unconfirmedOnly,
        );
        if (reservation.action === 'notify') {
          await notifyChat(member, reservation.wamid, content.kind === 'text' ? content.text : content.template.text, reservation.sentAt);
        }
        if (reservation.action !== 'send') continue;
        slot++;
        const p: Promise<void> = sendOne(member, content, clientKey)
          .catch((err: unknown) => void (failure ??= err))
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
        if (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } finally {
      clearInterval(heartbeat);
    }
    if (failure) throw failure;
    if (ctx.cancellationSignal.aborted) {
      throw ApplicationFailure.create({ type: 'CampaignBatchInterrupted', message: 'the worker is shutting down; the batch resumes elsewhere' });
    }
    const last = members[members.length - 1];
    return {
      lastContactId: last ? last.contact_id : input.afterContactId,
      exhausted: members.length < input.limit,
      nextSendAt: start + slot * interval,
      recentSends: lastSecond.filter((t) => t > Date.now() - 1000),
      counts: await recipientCounts(db, campaign.id),
    };
  }

  return { sendCampaignBatch };
}
