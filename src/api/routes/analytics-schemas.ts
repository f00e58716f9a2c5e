import { z } from 'zod';

const count = (what: string) => z.number().int().describe(what);
const seconds = (what: string) => z.number().nullable().describe(`${what}, in seconds (null: nothing answered)`);
const rate = (what: string) => z.number().nullable().describe(`${what}, a fraction 0-1 with 4 decimals (null: no conversations)`);

export const PeriodView = z.object({
  start_date: z.string().describe('First instant of the range (ISO 8601, UTC)'),
  end_date: z.string().describe('End of the range, exclusive (ISO 8601, UTC)'),
  timezone: z.string(),
  group_by: z.string().optional(),
});

const BySender = z.object({ user: z.number(), bot: z.number(), operator: z.number(), campaign: z.number() });
const Bucket = {
  date: z.string().describe('Local date the bucket starts on, YYYY-MM-DD (weeks start on Monday)'),
  start: z.string().describe('First instant of the bucket (ISO 8601, UTC)'),
};

export const ConversationAnalytics = z.object({
  period: PeriodView,
  metrics: z.object({
    total_conversations: count('Conversations with at least one message (any sender) in the range'),
    new_conversations: count('Conversations first recorded in the range'),
    total_messages: count('Messages in the range, in and out'),
    messages_received: count('Inbound (user) messages'),
    messages_sent: count('Outbound messages (bot, operator, campaign)'),
    messages_by_sender: BySender,
    average_messages_per_conversation: z.number().nullable(),
    average_response_time_seconds: seconds('Mean response time (see /analytics/response-times)'),
    median_response_time_seconds: seconds('Median response time'),
    p90_response_time_seconds: seconds('90th percentile response time'),
    handover_rate: rate('Share of conversations handed to a human (see /analytics/handover)'),
    resolution_rate: rate('Share of conversations resolved by the bot alone (see /analytics/handover)'),
  }),
  trends: z.array(
    z.object({
      ...Bucket,
      conversations: count('Conversations with a message in the bucket'),
      new_conversations: z.number(),
      messages: z.number(),
      messages_received: z.number(),
      messages_sent: z.number(),
      messages_by_sender: BySender,
      average_response_time: seconds('Mean response time of bursts that began in the bucket'),
    }),
  ),
});

const Times = {
  bursts: count('Bursts (a user message and those after it, up to a reply) that began in the range'),
  answered: count('Of those, bursts that got a reply'),
  average_seconds: seconds('Mean response time'),
  median_seconds: seconds('Median response time'),
  p90_seconds: seconds('90th percentile response time'),
  max_seconds: seconds('Longest response time'),
};
const ByResponder = z.object({ answered: z.number(), average_seconds: z.number().nullable() });

export const ResponseTimeAnalytics = z.object({
  period: PeriodView,
  metrics: z.object({
    ...Times,
    unanswered: count('Bursts with no reply yet'),
    by_responder: z.object({ bot: ByResponder, operator: ByResponder }),
  }),
  trends: z.array(z.object({ ...Bucket, ...Times })),
});

export const HandoverAnalytics = z.object({
  period: PeriodView,
  conversations: count('Conversations in which the user wrote during the range (the denominator)'),
  handed_over: count('Of those, conversations handed to a human'),
  handover_rate: rate('handed_over / conversations'),
  resolved: count('Of those, conversations the bot resolved alone'),
  resolution_rate: rate('resolved / conversations'),
  handover_reasons: z
    .object({
      operator_replied: count('An operator wrote in the conversation during the range'),
      model_handoff: count('The model asked for a human (handoff_to_human) during the range'),
      held_now: count('Held by an operator or flagged NeedsHuman now, with its latest message in the range'),
    })
    .describe('A conversation may have several reasons'),
});

const HourStats = {
  messages_received: z.number(),
  messages_sent: z.number(),
  messages_delivered: count('Outbound messages delivered (read ones included)'),
  messages_read: z.number(),
  messages_failed: z.number(),
  unique_users: count('Distinct users who wrote'),
  avg_response_time: seconds('Mean response time of bursts that began in the hour'),
  max_response_time: seconds('Longest response time of bursts that began in the hour'),
  error_rate: z.number().describe('messages_failed / messages_sent (0 when nothing was sent)'),
};

export const HourlyAnalytics = z.object({
  period: PeriodView,
  hour_of_day: z.array(z.object({ hour: z.number().int().min(0).max(23), ...HourStats })).describe('24 rows, local hours 0-23'),
  hourly_data: z.array(z.object({ ...Bucket, hour: z.number().int(), ...HourStats })).describe('Every local hour of the range'),
});

const Price = z.object({ input: z.number(), output: z.number() }).describe('USD per million prompt (input) and completion (output) tokens');

export const LlmUsageAnalytics = z.object({
  period: PeriodView,
  models: z.array(
    z.object({
      model: z.string().describe('As the provider named it in its answer (or the configured model, for failed calls)'),
      usage_count: count('Calls that reached the model, retries included'),
      reply_count: z.number(),
      handoff_count: count('Calls where the model asked for a human'),
      error_count: count('Calls that failed (HTTP error, timeout, unusable answer); they carry no tokens'),
      error_rate: z.number(),
      prompt_tokens: z.number(),
      completion_tokens: z.number(),
      total_tokens: z.number(),
      average_processing_time_ms: z.number().nullable(),
      price_per_million_tokens: Price.nullable(),
      cost_usd: z.number().nullable().describe('Tokens times price; null when the model has no price'),
    }),
  ),
  totals: z.object({
    usage_count: z.number(),
    error_count: z.number(),
    prompt_tokens: z.number(),
    completion_tokens: z.number(),
    total_tokens: z.number(),
    cost_usd: z.number().describe('Sum over the priced models'),
    unpriced_models: z.array(z.string()).describe('Models whose cost is unknown (add them to LLM_PRICES)'),
  }),
});
