import { Router } from 'express';
import { bucketStats, handoverCounts, type BucketStats, type ResponseTimes, type TimeRange } from '../../db/analytics';
import { llmUsageByModel } from '../../db/llm-usage';
import { costUsd, priceOf, priceTable } from '../../llm/pricing';
import type { AppDeps } from '../deps';
import { READ, route } from '../route-doc';
import { GroupedRangeQuery, MAX_RANGE_DAYS, RangeQuery, resolveRange } from './analytics-range';
import { ConversationAnalytics, HandoverAnalytics, HourlyAnalytics, LlmUsageAnalytics, ResponseTimeAnalytics } from './analytics-schemas';

const RESPONSE_TIME = [
  'Response time is measured per burst: a burst starts at the first user message that has no reply yet',
  '(messages since the previous bot or operator reply in the same conversation) and is answered by the next',
  'bot or operator message in that conversation that did not fail. Campaign messages are not replies and',
  'reactions do not start a burst. A burst belongs to the range (and bucket) its first message falls in; its',
  'reply may come later. Unanswered bursts count in `bursts` but not in the times.',
].join(' ');

const HANDOVER = [
  'The denominator is every conversation in which the user wrote during the range. A conversation was',
  'handed over when, in the range, an operator wrote in it or the model asked for a human (handoff_to_human),',
  'or when it is held by an operator or flagged NeedsHuman now and its latest message falls in the range.',
  'It was resolved when it was not handed over and the last burst the user started in the range was answered',
  'by the bot. Takeovers are not kept as history: one that ended (handback) without an operator message, or a',
  'NeedsHuman flag set by the fallback reply and since cleared, leaves no trace and is not counted.',
].join(' ');

const ratio = (part: number, whole: number) => (whole ? Math.round((part / whole) * 10_000) / 10_000 : null);
const bucket = (b: BucketStats) => ({ date: b.label.slice(0, 10), start: b.start!.toISOString() });
const period = (r: TimeRange, groupBy?: string) => ({
  start_date: r.start.toISOString(),
  end_date: r.end.toISOString(),
  timezone: r.timeZone,
  ...(groupBy ? { group_by: groupBy } : {}),
});
const times = (t: ResponseTimes) => ({
  bursts: t.bursts,
  answered: t.answered,
  average_seconds: t.average,
  median_seconds: t.median,
  p90_seconds: t.p90,
  max_seconds: t.max,
});
const hourStats = (b: BucketStats) => ({
  messages_received: b.inbound,
  messages_sent: b.outbound,
  messages_delivered: b.delivered,
  messages_read: b.read,
  messages_failed: b.failed,
  unique_users: b.uniqueUsers,
  avg_response_time: b.responseTimes.average,
  max_response_time: b.responseTimes.max,
  error_rate: ratio(b.failed, b.outbound) ?? 0,
});

/** Seed 000's conversation analytics and seed 002's hourly message analytics, from Postgres. */
export function analyticsRouter(deps: AppDeps): Router {
  const router = Router();
  const prices = deps.llmPrices ?? priceTable();
  const doc = { access: READ, tag: 'analytics' } as const;

  router.get(
    '/conversations',
    route(
      {
        ...doc,
        summary: 'Conversations and messages per day, week or month',
        description: `Volumes per bucket and for the whole range, with response times and rates. ${RESPONSE_TIME} ${HANDOVER}`,
        query: GroupedRangeQuery,
        responses: { 200: { description: 'Metrics for the range and one trend row per bucket, empty ones included', schema: ConversationAnalytics } },
      },
      async ({ query: q }) => {
        const r = resolveRange(q, MAX_RANGE_DAYS[q.group_by]);
        const [[total], trends, handover] = await Promise.all([
          bucketStats(deps.db, r, 'total'),
          bucketStats(deps.db, r, { period: q.group_by }),
          handoverCounts(deps.db, r),
        ]);
        const t = total!;
        return {
          period: period(r, q.group_by),
          metrics: {
            total_conversations: t.activeConversations,
            new_conversations: t.newConversations,
            total_messages: t.messages,
            messages_received: t.inbound,
            messages_sent: t.outbound,
            messages_by_sender: t.bySender,
            average_messages_per_conversation: t.activeConversations ? Math.round((t.messages / t.activeConversations) * 100) / 100 : null,
            average_response_time_seconds: t.responseTimes.average,
            median_response_time_seconds: t.responseTimes.median,
            p90_response_time_seconds: t.responseTimes.p90,
            handover_rate: ratio(handover.handedOver, handover.conversations),
            resolution_rate: ratio(handover.resolved, handover.conversations),
          },
          trends: trends.map((b) => ({
            ...bucket(b),
            conversations: b.activeConversations,
            new_conversations: b.newConversations,
            messages: b.messages,
            messages_received: b.inbound,
            messages_sent: b.outbound,
            messages_by_sender: b.bySender,
            average_response_time: b.responseTimes.average,
          })),
        };
      },
    ),
  );

  router.get(
    '/response-times',
    route(
      {
        ...doc,
        summary: 'Response times: from a user message to the first reply',
        description: RESPONSE_TIME,
        query: GroupedRangeQuery,
        responses: { 200: { description: 'Times for the range, by responder, and per bucket', schema: ResponseTimeAnalytics } },
      },
      async ({ query: q }) => {
        const r = resolveRange(q, MAX_RANGE_DAYS[q.group_by]);
        const [[total], trends] = await Promise.all([bucketStats(deps.db, r, 'total'), bucketStats(deps.db, r, { period: q.group_by })]);
        const t = total!.responseTimes;
        return {
          period: period(r, q.group_by),
          metrics: {
            ...times(t),
            unanswered: t.bursts - t.answered,
            by_responder: {
              bot: { answered: t.byBot.answered, average_seconds: t.byBot.average },
              operator: { answered: t.byOperator.answered, average_seconds: t.byOperator.average },
            },
          },
          trends: trends.map((b) => ({ ...bucket(b), ...times(b.responseTimes) })),
        };
      },
    ),
  );

  router.get(
    '/handover',
    route(
      {
        ...doc,
        summary: 'Handover and resolution rates',
        description: HANDOVER,
        query: RangeQuery,
        responses: { 200: { description: 'Counts and rates over the range', schema: HandoverAnalytics } },
      },
      async ({ query }) => {
        const r = resolveRange(query, MAX_RANGE_DAYS.month);
        const h = await handoverCounts(deps.db, r);
        return {
          period: period(r),
          conversations: h.conversations,
          handed_over: h.handedOver,
          handover_rate: ratio(h.handedOver, h.conversations),
          resolved: h.resolved,
          resolution_rate: ratio(h.resolved, h.conversations),
          handover_reasons: { operator_replied: h.operatorReplied, model_handoff: h.modelHandoff, held_now: h.heldNow },
        };
      },
    ),
  );

  router.get(
    '/messages/hourly',
    route(
      {
        ...doc,
        summary: 'Messages per hour (seed 002 hourly analytics)',
        description:
          `Per local hour of day (0-23) over the range, and per hour of the range (at most ${MAX_RANGE_DAYS.hour} days). Hours are ` +
          'wall-clock hours in `timezone`: on a spring-forward day the skipped hour is listed empty, on a fall-back day the ' +
          `repeated hour holds both. ${RESPONSE_TIME}`,
        query: RangeQuery,
        responses: { 200: { description: 'Hour-of-day profile and every hour of the range', schema: HourlyAnalytics } },
      },
      async ({ query }) => {
        const r = resolveRange(query, MAX_RANGE_DAYS.hour);
        const [profile, hours] = await Promise.all([bucketStats(deps.db, r, 'hour_of_day'), bucketStats(deps.db, r, { period: 'hour' })]);
        return {
          period: period(r),
          hour_of_day: profile.map((b) => ({ hour: Number(b.label), ...hourStats(b) })),
          hourly_data: hours.map((b) => ({ ...bucket(b), hour: Number(b.label.slice(11, 13)), ...hourStats(b) })),
        };
      },
    ),
  );

  router.get(
    '/llm-usage',
    route(
      {
        ...doc,
        summary: 'LLM calls, tokens and cost per model',
        description:
          'One row per model over the range: every call attempt that reached the model is counted (Temporal retries included). ' +
          'Cost is computed when asked from the tokens and the current prices: built-in list prices, overridden or extended by LLM_PRICES.',
        query: RangeQuery,
        responses: { 200: { description: 'Usage per model and totals', schema: LlmUsageAnalytics } },
      },
      async ({ query }) => {
        const r = resolveRange(query, MAX_RANGE_DAYS.month);
        const models = (await llmUsageByModel(deps.db, r)).map((m) => {
          const price = priceOf(prices, m.model);
          return {
            model: m.model,
            usage_count: m.calls,
            reply_count: m.replies,
            handoff_count: m.handoffs,
            error_count: m.errors,
            error_rate: ratio(m.errors, m.calls) ?? 0,
            prompt_tokens: m.promptTokens,
            completion_tokens: m.completionTokens,
            total_tokens: m.promptTokens + m.completionTokens,
            average_processing_time_ms: m.averageLatencyMs,
            price_per_million_tokens: price ?? null,
            cost_usd: price ? costUsd(price, m.promptTokens, m.completionTokens) : null,
          };
        });
        const sum = (f: (m: (typeof models)[number]) => number) => models.reduce((n, m) => n + f(m), 0);
        return {
          period: period(r),
          models,
          totals: {
            usage_count: sum((m) => m.usage_count),
            error_count: sum((m) => m.error_count),
            prompt_tokens: sum((m) => m.prompt_tokens),
            completion_tokens: sum((m) => m.completion_tokens),
            total_tokens: sum((m) => m.total_tokens),
            cost_usd: Math.round(sum((m) => m.cost_usd ?? 0) * 1e8) / 1e8,
            unpriced_models: models.filter((m) => m.cost_usd === null).map((m) => m.model),
          },
        };
      },
    ),
  );

  return router;
}
