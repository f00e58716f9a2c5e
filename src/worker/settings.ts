import type { Config } from '../config';
import type { ChatSettings } from '../workflows/definitions';
import { defaultNumberFromConfig } from '../numbers/from-config';

export function chatSettingsFromConfig(config: Config): ChatSettings {
  return {
    debounceMs: config.DEBOUNCE_MS,
    maxWaitMs: config.DEBOUNCE_MAX_WAIT_MS,
    contextMessages: config.LLM_MAX_CONTEXT_MESSAGES,
    contextChars: config.LLM_MAX_CONTEXT_CHARS,
    llmMaxAttempts: config.LLM_MAX_ATTEMPTS,
    llmTimeoutMs: config.LLM_TIMEOUT_MS,
    llmRetryInitialMs: 1000,
    continueAsNewAfterEvents: config.CHAT_CONTINUE_AS_NEW_EVENTS,
    campaignConfirmGraceMs: config.CAMPAIGN_CONFIRM_GRACE_MS,
    campaignContinueAsNewAfterEvents: config.CAMPAIGN_CONTINUE_AS_NEW_EVENTS,
    leadFollowUpPostponeMs: config.LEAD_FOLLOW_UP_POSTPONE_MS,
    leadOverdueAfterMs: config.LEAD_OVERDUE_AFTER_MS,
    inboundLimitMessages: config.INBOUND_RATE_LIMIT_MESSAGES,
    inboundLimitWindowMs: config.INBOUND_RATE_LIMIT_WINDOW_MS,
    // Chats load their number's AI configuration at each burst (issue 13).
    aiConfigurations: true,
    defaultBusinessNumber: defaultNumberFromConfig(config).phoneNumberId,
  };
}
