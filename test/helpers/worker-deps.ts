import { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { ActivityDeps } from '../../src/activities';
import { MetaGraphSender } from '../../src/channels/meta-graph';
import type { WhatsAppSender } from '../../src/channels/types';
import type { Db } from '../../src/db/database';
import type { WorkflowIds } from '../../src/temporal/workflow-ids';
import { ChatModel, DEFAULT_SYSTEM_PROMPT } from '../../src/llm/chat-model';
import type { ChatSettings } from '../../src/workflows/definitions';
import { SecretBox } from '../../src/crypto/secrets';

/** The same key as the harness's TEST_SECRETS (kept here so worker processes need not import the harness). */
const TEST_SECRETS_FOR_WORKER = new SecretBox(Buffer.alloc(32, 7));

/** The worker's dependencies with Graph and OpenAI pointed at the local stand-ins. */
export function workerDeps(opts: {
  connection: NativeConnection;
  db: Db;
  graphUrl: string;
  llmUrl: string;
  settings: ChatSettings;
  log: Logger;
  /** Replaces the Graph client (graphUrl is then unused). */
  sender?: WhatsAppSender;
  /** Replaces the model at llmUrl, e.g. with the OfflineResponder. */
  llm?: ActivityDeps['llm'];
  /** How long a retried send waits for the receipt of an earlier attempt; short by default. */
  sendConfirmGraceMs?: number;
  /** The deployment's workflow and Schedule ids; absent: the unprefixed ones. */
  ids?: WorkflowIds;
  /** The deployment's numbers; absent: the default number only. */
  numbers?: ActivityDeps['numbers'];
  /** The environment's AI settings, for AI configurations that leave some to it. */
  aiDefaults?: ActivityDeps['aiDefaults'];
}): ActivityDeps {
  return {
    temporal: new Client({ connection: opts.connection }),
    ids: opts.ids,
    numbers: opts.numbers,
    aiDefaults: opts.aiDefaults,
    secrets: opts.numbers ? TEST_SECRETS_FOR_WORKER : undefined,
    db: opts.db,
    log: opts.log,
    settings: opts.settings,
    sendConfirmGraceMs: opts.sendConfirmGraceMs ?? 1500,
    llmModel: 'test-model',
    llm:
      opts.llm ??
      new ChatModel({
        apiKey: 'sk-test',
        baseUrl: `${opts.llmUrl}/v1`,
        model: 'test-model',
        systemPrompt: DEFAULT_SYSTEM_PROMPT,
        temperature: 0,
        maxTokens: 256,
        timeoutMs: opts.settings.llmTimeoutMs,
      }),
    whatsapp: opts.sender ?? new MetaGraphSender({ baseUrl: opts.graphUrl, phoneNumberId: 'PNID', accessToken: 'graph-token' }),
  };
}
