import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker, type WorkerOptions } from '@temporalio/worker';
import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import { createApp } from '../../src/api/app';
import type { ApiKey } from '../../src/api/auth';
import { tokenSettings } from '../../src/auth/tokens';
import type { AppDeps } from '../../src/api/deps';
import type { ActivityDeps } from '../../src/activities';
import { MetaGraphSender } from '../../src/channels/meta-graph';
import type { WhatsAppSender } from '../../src/channels/types';
import { signBody } from '../../src/api/webhook/signature';
import { createDb, type Db } from '../../src/db/database';
import type { Message } from '../../src/db/schema';
import { workflowIds, type WorkflowIds } from '../../src/temporal/workflow-ids';
import { createWorker } from '../../src/worker/create-worker';
import { chatStateQuery, type ChatSettings, type ChatStateView } from '../../src/workflows/definitions';
import { eventually } from './eventually';
import { FakeGraph } from './fake-graph';
import { FakeOpenAI } from './fake-openai';
import { webhookBody, type TextMessageSpec } from './webhook-payload';
import { workerDeps } from './worker-deps';
import { SecretBox } from '../../src/crypto/secrets';
import { NumberRegistry, type DefaultNumber } from '../../src/numbers/registry';
import type { AiDefaults } from '../../src/ai/model';
import { DEFAULT_SYSTEM_PROMPT } from '../../src/llm/chat-model';

export { eventually };

export const APP_SECRET = 'test-app-secret';
export const KEYS = {
  admin: 'admin-key-0123456789abcdef',
  operator: 'operator-key-0123456789abcdef',
  viewer: 'viewer-key-0123456789abcdef',
  marketer: 'marketer-key-0123456789abcdef',
  sales: 'sales-key-0123456789abcdef',
} as const;
const API_KEYS: ApiKey[] = [
  // Named as API_KEYS' `secret:role:name` names them: audit records show `key:<name>`.
  { secret: KEYS.admin, role: 'admin', name: 'admin-key' },
  { secret: KEYS.operator, role: 'operator', name: 'operator-key' },
  { secret: KEYS.viewer, role: 'viewer', name: 'viewer-key' },
  { secret: KEYS.marketer, role: 'marketer', name: 'marketer-key' },
  { secret: KEYS.sales, role: 'sales', name: 'sales-key' },
];

/** Shared by every harness, so a token from one test's API is valid at another's. */
export const TEST_TOKENS = tokenSettings('test-jwt-secret-0123456789abcdef0123456789', 900, 3600);

export const TEST_SETTINGS: ChatSettings = {
  debounceMs: 300,
  maxWaitMs: 3000,
  contextMessages: 20,
  llmMaxAttempts: 3,
  llmTimeoutMs: 5000,
  llmRetryInitialMs: 100,
  continueAsNewAfterEvents: 10_000,
  campaignConfirmGraceMs: 3000,
  campaignContinueAsNewAfterEvents: 2000,
  leadFollowUpPostponeMs: 1000,
  leadOverdueAfterMs: 2000,
  // High enough that only test/inbound-limit.test.ts (which lowers it) ever reaches it.
  inboundLimitMessages: 1000,
  inboundLimitWindowMs: 60_000,
  aiConfigurations: true,
  defaultBusinessNumber: 'PNID',
};

/** CREDENTIALS_ENCRYPTION_KEY of every harness (numbers and AI configurations stored by one are readable by all). */
export const TEST_SECRETS = new SecretBox(Buffer.alloc(32, 7));
/** The default number of a harness: Meta's PNID, which test/helpers/webhook-payload.ts addresses. */
export const TEST_DEFAULT_NUMBER: DefaultNumber = { provider: 'meta', phoneNumberId: 'PNID', displayNumber: '+15550000000' };

export interface Harness {
  db: Db;
  /** The API's and the worker's numbers (one registry: both see a change at once). */
  numbers: NumberRegistry;
  /** What chats answer with when no AI configuration applies (the fake OpenAI, test-model). */
  aiDefaults: AiDefaults;
  /** The API app itself, for walking its route table. */
  app: Express;
  graph: FakeGraph;
  llm: FakeOpenAI;
  client: Client;
  apiUrl: string;
  taskQueue: string;
  /** This deployment's workflow and Schedule ids (idPrefix; unprefixed by default). */
  ids: WorkflowIds;
  /** POSTs a signed Meta webhook with these messages (and/or statuses). */
  inbound(messages: TextMessageSpec[], statuses?: Record<string, unknown>[]): Promise<Response>;
  postRaw(body: string, headers: Record<string, string>): Promise<Response>;
  api(method: string, path: string, opts?: { body?: unknown; key?: string | null; headers?: Record<string, string> }): Promise<{ status: number; body: any }>;
  chatState(waId: string): Promise<ChatStateView>;
  /** Every message recorded in Postgres for this chat, oldest first. */
  recorded(waId: string): Promise<Message[]>;
  /** Waits until the chat has nothing pending and sits idle, i.e. it has done all it will do. */
  settled(waId: string, timeoutMs?: number): Promise<ChatStateView>;
  /** Replaces the in-process worker; with a bundle, the new one runs that workflow code. */
  restartWorker(workflowBundle?: WorkerOptions['workflowBundle'], settings?: Partial<ChatSettings>): Promise<void>;
  /**
   * Another API process's app on the same database and Temporal, with these settings instead of
   * the harness's (login limits starting from zero, CORS, a proxy): its base URL, closed by stop().
   */
  serveApi(overrides: Partial<AppDeps>): Promise<string>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  settings?: Partial<ChatSettings>;
  temporalAddress?: string;
  /** The worker's Postgres (e.g. through a TcpProxy); the API and the test use the direct one. */
  workerDatabaseUrl?: string;
  /** The API's Postgres (e.g. through a TcpProxy); the worker and the test (`db`) use the direct one. */
  apiDatabaseUrl?: string;
  /** The logger of the API and the in-process worker (e.g. one writing to memory); default silent. */
  log?: Logger;
  /** false: no in-process worker; the test brings its own on `taskQueue`. */
  worker?: false;
  /** The worker's WhatsApp sender instead of the Graph client pointed at `graph` (e.g. Twilio's). */
  sender?: WhatsAppSender;
  /** API requests per caller; by default high enough that no test but the rate-limit one reaches it. */
  rateLimits?: AppDeps['rateLimits'];
  /** Largest JSON body the API takes. */
  bodyLimit?: string;
  /** The API's Twilio webhook settings; without them the Twilio webhook refuses everything. */
  twilio?: AppDeps['twilio'];
  /** The worker's model instead of the one at `llm` (e.g. the OfflineResponder), and how /health names it. */
  llm?: { model: ActivityDeps['llm']; label: string };
  /** The in-process worker's workflow code instead of today's (e.g. the chat from before v2). */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** TEMPORAL_ID_PREFIX of this deployment (API and worker); default '' (today's ids). */
  idPrefix?: string;
  /** The API's file uploads; default Meta, uploading to `graph` as the worker's sender sends there. */
  media?: AppDeps['media'];
  /** The environment's number of this deployment; default TEST_DEFAULT_NUMBER (Meta, PNID). */
  defaultNumber?: DefaultNumber;
  /** Where numbers added at run time send through Twilio; default nowhere useful. */
  twilioBaseUrl?: string;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const address = process.env.TEST_TEMPORAL_ADDRESS!;
  const db = createDb(process.env.TEST_DATABASE_URL!);
  const workerDb = opts.workerDatabaseUrl ? createDb(opts.workerDatabaseUrl) : db;
  const apiDb = opts.apiDatabaseUrl ? createDb(opts.apiDatabaseUrl) : db;
  const graph = await new FakeGraph().start();
  const llm = await new FakeOpenAI().start();
  const log = opts.log ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const settings = { ...TEST_SETTINGS, ...opts.settings };
  const taskQueue = `test-${randomUUID()}`;
  const ids = workflowIds(opts.idPrefix ?? '');

  const nativeConnection = await NativeConnection.connect({ address });
  const aiDefaults: AiDefaults = {
    apiKey: 'sk-test',
    baseUrl: `${llm.url}/v1`,
    model: 'test-model',
    temperature: 0,
    maxTokens: 256,
    systemPrompt: DEFAULT_SYSTEM_PROMPT,
    contextMessages: settings.contextMessages,
    debounceMs: settings.debounceMs,
    maxWaitMs: settings.maxWaitMs,
    timeoutMs: settings.llmTimeoutMs,
  };
  const defaultSender = opts.sender ?? new MetaGraphSender({ baseUrl: graph.url, phoneNumberId: 'PNID', accessToken: 'graph-token' });
  const numbers = new NumberRegistry({
    db,
    defaultNumber: opts.defaultNumber ?? TEST_DEFAULT_NUMBER,
    secrets: TEST_SECRETS,
    defaultSender,
    providers: { graphBaseUrl: graph.url, twilioBaseUrl: opts.twilioBaseUrl ?? 'http://127.0.0.1:9', publicBaseUrl: undefined },
    log,
    ttlMs: 200,
  });
  const deps = workerDeps({
    connection: nativeConnection,
    db: workerDb,
    graphUrl: graph.url,
    llmUrl: llm.url,
    settings,
    log,
    sender: defaultSender,
    llm: opts.llm?.model,
    ids,
    numbers,
    aiDefaults,
  });
  const newWorker = (workflowBundle = opts.workflowBundle ?? { codePath: process.env.TEST_WORKFLOW_BUNDLE! }) =>
    createWorker({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      deps,
      workflowBundle,
    });
  // Without an in-process worker the test runs its own (e.g. a child process it can kill -9).
  let worker: Worker | undefined = opts.worker === false ? undefined : await newWorker();
  let running = worker?.run();

  const connection = await Connection.connect({ address: opts.temporalAddress ?? address });
  const client = new Client({ connection });
  const appDeps: AppDeps = {
    db: apiDb,
    temporal: client,
    taskQueue,
    ids,
    log,
    apiKeys: API_KEYS,
    whatsapp: { appSecret: APP_SECRET, verifyToken: 'verify-me' },
    version: 'test',
    temporalTimeoutMs: 3000,
    rateLimits: opts.rateLimits ?? { perMinute: 1_000_000, perHour: 1_000_000 },
    bodyLimit: opts.bodyLimit,
    tokens: TEST_TOKENS,
    twilio: opts.twilio,
    llmLabel: opts.llm?.label,
    media: opts.media ?? { provider: 'meta', uploader: new MetaGraphSender({ baseUrl: graph.url, phoneNumberId: 'PNID', accessToken: 'graph-token' }) },
    numbers,
    secrets: TEST_SECRETS,
    aiDefaults,
  };
  const extraServers: Server[] = [];
  const listen = async (served: Express): Promise<{ server: Server; url: string }> => {
    const server: Server = await new Promise((resolve) => {
      const s = served.listen(0, '127.0.0.1', () => resolve(s));
    });
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  };
  const app = createApp(appDeps);
  const { server, url: apiUrl } = await listen(app);

  const postRaw = (body: string, headers: Record<string, string>) =>
    fetch(`${apiUrl}/webhooks/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

  const harness: Harness = {
    db,
    numbers,
    aiDefaults,
    app,
    graph,
    llm,
    client,
    apiUrl,
    taskQueue,
    ids,
    postRaw,
    inbound(messages, statuses) {
      const body = JSON.stringify(webhookBody({ messages, statuses }));
      return postRaw(body, { 'x-hub-signature-256': signBody(body, APP_SECRET) });
    },
    async api(method, path, { body, key = KEYS.admin, headers = {} } = {}) {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: {
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(key ? { authorization: `Bearer ${key}` } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    chatState: (waId) => client.workflow.getHandle(ids.chat(waId)).query(chatStateQuery),
    recorded: (waId) =>
      db
        .selectFrom('messages')
        .innerJoin('conversations', 'conversations.id', 'messages.conversation_id')
        .selectAll('messages')
        .where('conversations.wa_id', '=', waId)
        .orderBy('messages.id')
        .execute(),
    settled: (waId, timeoutMs = 20_000) =>
      eventually(async () => {
        const s = await harness.chatState(waId);
        if (s.phase !== 'idle' || s.pendingCount !== 0) throw new Error(`chat busy: ${s.phase}, ${s.pendingCount} pending`);
        return s;
      }, timeoutMs),
    async restartWorker(workflowBundle, newSettings) {
      // A deployment may bring settings the previous worker did not have (e.g. fields added since).
      if (newSettings) Object.assign(deps.settings, newSettings);
      worker?.shutdown();
      await running;
      worker = await newWorker(workflowBundle ?? { codePath: process.env.TEST_WORKFLOW_BUNDLE! });
      running = worker.run();
    },
    async serveApi(overrides) {
      const extra = await listen(createApp({ ...appDeps, ...overrides }));
      extraServers.push(extra.server);
      return extra.url;
    },
    async stop() {
      for (const s of extraServers) {
        s.closeAllConnections();
        s.close();
      }
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
      worker?.shutdown();
      await running;
      await nativeConnection.close();
      await connection.close();
      await Promise.all([graph.stop(), llm.stop()]);
      if (workerDb !== db) await workerDb.destroy();
      if (apiDb !== db) await apiDb.destroy();
      await db.destroy();
    },
  };
  return harness;
}
