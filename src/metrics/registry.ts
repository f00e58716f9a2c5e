import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * Every Prometheus series of the product, on one registry per process.
 *
 * The API and the worker are separate processes, each with its own copy of this registry:
 * - the API serves GET /metrics: webhook requests and latency, chat signals, chats by mode
 *   (counted in Temporal visibility at scrape time, see chat-counts.ts);
 * - the worker serves WORKER_METRICS_PORT (server.ts): LLM calls, latency, tokens and errors,
 *   WhatsApp sends, debounce batch sizes, and the signals its campaign sends make.
 * Prometheus scrapes both. When a test runs worker and API in one process they share this registry,
 * so the API's /metrics shows every series there.
 *
 * Labels stay bounded: provider, model, outcome and status names, never a phone number or a wamid.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

export type WebhookProvider = 'meta' | 'twilio';

export const webhookRequests = new Counter({
  name: 'whatsapp_webhook_requests_total',
  help: 'Webhook requests by provider and outcome (accepted, ignored, verified, rejected, invalid, error, aborted, ...)',
  labelNames: ['provider', 'outcome'] as const,
  registers: [registry],
});

export const webhookDuration = new Histogram({
  name: 'whatsapp_webhook_duration_seconds',
  help: 'Time to answer a webhook request, signals to Temporal included',
  labelNames: ['provider'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const webhookElementsSkipped = new Counter({
  name: 'whatsapp_webhook_elements_skipped_total',
  help: 'Messages, statuses and contacts left out of an accepted webhook because they were invalid (the rest of the batch was processed), by provider and kind',
  labelNames: ['provider', 'kind'] as const,
  registers: [registry],
});

export const webhookMessagesUnrouted = new Counter({
  name: 'whatsapp_webhook_unrouted_messages_total',
  help: 'Inbound messages acknowledged and never answered because they were for a business number that is unknown here or disabled, by provider and reason',
  labelNames: ['provider', 'reason'] as const,
  registers: [registry],
});

export const webhookLogRowsWritten = new Counter({
  name: 'whatsapp_webhook_log_rows_written_total',
  help: 'Webhook log rows written to Postgres (one per webhook request; see README, webhook logs)',
  registers: [registry],
});

export const webhookLogRowsDropped = new Counter({
  name: 'whatsapp_webhook_log_rows_dropped_total',
  help: 'Webhook log rows not written, by reason (queue_full: the in-process queue was at its cap; write_failed: Postgres refused or did not answer). The webhooks themselves are not affected',
  labelNames: ['reason'] as const,
  registers: [registry],
});

export const chatSignals = new Counter({
  name: 'chat_signals_total',
  help: 'Signal-with-start calls to chat workflows by signal name and outcome (ok, error)',
  labelNames: ['signal', 'outcome'] as const,
  registers: [registry],
});

export const llmCalls = new Counter({
  name: 'llm_calls_total',
  help: 'Chat completion calls by model and outcome (ok, error)',
  labelNames: ['model', 'outcome'] as const,
  registers: [registry],
});

export const llmDuration = new Histogram({
  name: 'llm_call_duration_seconds',
  help: 'Time of one chat completion call, failures included',
  labelNames: ['model'] as const,
  buckets: [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
  registers: [registry],
});

export const llmTokens = new Counter({
  name: 'llm_tokens_total',
  help: 'Tokens the LLM reported using, by model and kind (prompt, completion)',
  labelNames: ['model', 'kind'] as const,
  registers: [registry],
});

export const llmErrors = new Counter({
  name: 'llm_errors_total',
  help: 'Failed LLM calls by model and type (rate_limit, server_error, client_error, auth, timeout, connection, not_configured, empty_reply, other)',
  labelNames: ['model', 'type'] as const,
  registers: [registry],
});

export const whatsAppSends = new Counter({
  name: 'whatsapp_sends_total',
  help: 'WhatsApp send attempts by provider, sender type (bot, operator, campaign) and status (sent; failed: refused for good; retrying: transient, retried; unconfirmed: a campaign send whose outcome a timeout hid)',
  labelNames: ['provider', 'sender_type', 'status'] as const,
  registers: [registry],
});

export const debounceBatchSize = new Histogram({
  name: 'chat_debounce_batch_size',
  help: 'User messages answered together by one LLM reply (a debounced burst)',
  buckets: [1, 2, 3, 4, 5, 8, 12, 20, 50],
  registers: [registry],
});

/** Counts one signal to a chat workflow by its outcome; the signal's own result passes through. */
export async function countSignal<T>(signal: string, sending: Promise<T>): Promise<T> {
  try {
    const result = await sending;
    chatSignals.inc({ signal, outcome: 'ok' });
    return result;
  } catch (err) {
    chatSignals.inc({ signal, outcome: 'error' });
    throw err;
  }
}
