import type { Client } from '@temporalio/client';
import type { WhatsAppSender } from '../channels/types';
import type { Db } from '../db/database';
import type { ChatModel } from '../llm/chat-model';
import type { Logger } from '../logger';
import type { WorkflowIds } from '../temporal/workflow-ids';
import type { AiConfigurationChoice, ChatSettings } from '../workflows/definitions';
import { aiChoiceForNumber } from '../db/ai-configurations';
import { createCampaignRunActivities } from './campaign-run';
import { createCampaignSenderActivities } from './campaign-sender';
import { createConversationActivities } from './conversation-record';
import { createLeadFollowUpActivities } from './lead-follow-up';
import { createLlmActivities } from './llm';
import { createOptKeywordActivities } from './opt-keywords';
import { createReplyActivities } from './reply';
import { createSendActivities } from './send';
import { createWebhookLogActivities } from './webhook-log-retention';
import type { NumberRegistry } from '../numbers/registry';
import type { SecretBox } from '../crypto/secrets';
import type { AiDefaults } from '../ai/model';

export interface ActivityDeps {
  db: Db;
  llm: Pick<ChatModel, 'reply'>;
  /** The configured model, named on the usage record of a call that failed before the model answered. */
  llmModel?: string;
  whatsapp: WhatsAppSender;
  log: Logger;
  settings: ChatSettings;
  /**
   * How long after a send that may have reached WhatsApp (its worker died before storing the
   * wamid) a retry waits for the receipt before sending again (CHAT_SEND_CONFIRM_GRACE_MS). Not in
   * ChatSettings: workflows never read it, and those settings are recorded in their histories.
   */
  sendConfirmGraceMs: number;
  /** For signalling chats and managing campaign Schedules from activities. */
  temporal: Client;
  /**
   * The ids of the chats and Schedules those activities address, behind TEMPORAL_ID_PREFIX
   * (workflowIds). Absent: the unprefixed ids (workflowIds('')).
   */
  ids?: WorkflowIds;
  /**
   * The business's numbers (issue 13): each chat sends through its number's sender. Absent: the
   * default number only, which sends through `whatsapp`.
   */
  numbers?: NumberRegistry;
  /** CREDENTIALS_ENCRYPTION_KEY, for AI configurations' API keys. */
  secrets?: SecretBox;
  /** The environment's AI settings: what a chat answers with when no AI configuration applies. */
  aiDefaults?: AiDefaults;
}

/** Every activity the worker registers, built over its dependencies (no process.env in here). */
export function createActivities(deps: ActivityDeps) {
  return {
    // Workflows read behaviour settings through this, so they come from the worker's config. It
    // serves campaign and lead workflows too; the name stays because histories record it.
    async loadChatSettings(): Promise<ChatSettings> {
      return deps.settings;
    },
    /**
     * The AI configuration a chat's burst is answered with (issue 13): the number's own, else the
     * default one, else null (the environment's settings). A local activity, once per burst.
     */
    async loadAiConfiguration({ numberId }: { numberId: number }): Promise<AiConfigurationChoice | null> {
      return aiChoiceForNumber(deps.db, numberId);
    },
    ...createConversationActivities(deps),
    ...createLlmActivities(deps),
    ...createSendActivities(deps),
    ...createReplyActivities(deps),
    ...createOptKeywordActivities(deps),
    ...createCampaignRunActivities(deps),
    ...createCampaignSenderActivities(deps),
    ...createLeadFollowUpActivities(deps),
    ...createWebhookLogActivities(deps),
  };
}

/** Every activity, as chat, campaign and lead workflows proxy them (one worker runs them all). */
export type Activities = ReturnType<typeof createActivities>;
