/**
 * Every live patch id of the chat workflow and what it gates. A patch can be deprecated once no
 * run that started before it is open (and its histories are retired from test/histories).
 */
export const CHAT_PATCHES = {
  /** chat.ts: runs started before v2 take the v1 code path (legacy/chat-v1.ts) for the rest of that run. */
  v2: 'chat-v2',
  /** legacy/chat-v1.ts: a v1 run continues as new (into v2) at its next quiet moment. */
  upgradeToV2: 'chat-v1-upgrade-to-v2',
  /** legacy/chat-v1.ts only: LastInboundAt published to the minute instead of on every message. */
  coarseLastInboundAt: 'coarse-last-inbound-at',
  /** legacy/chat-v1.ts only: STOP / START handled as opt-out / opt-in instead of going to the LLM. */
  optKeywords: 'opt-keywords',
  /** legacy/chat-v1.ts only: the per-user inbound limit (runs started before answered every message). */
  inboundRateLimit: 'inbound-rate-limit',
  /**
   * chat.ts: a run whose recorded settings predate AI configurations (started before them) loads
   * its number's configuration at each burst from its next burst on. Runs started since have
   * settings.aiConfigurations and never reach the patch call, so they carry no marker.
   */
  aiConfigurations: 'chat-ai-configurations',
} as const;
