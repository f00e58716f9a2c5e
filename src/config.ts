import { z } from 'zod';
import { parseLlmPrices } from './llm/pricing';
import { checkTemporalTlsFiles } from './temporal/connection-options';
import { parseEncryptionKey } from './crypto/secrets';

const ROLES = ['admin', 'operator', 'marketer', 'sales', 'viewer'] as const;
export type Role = (typeof ROLES)[number];
export const roles: readonly Role[] = ROLES;

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

/**
 * WEBHOOK_TEMPORAL_TIMEOUT_MS's default. 5 s gave 1,293 502s in 2,710 posts on a 4-shard cluster
 * under a burst of new chats (Meta redelivered them); a webhook that waits longer is still well
 * inside Meta's own timeout, and each 502 costs a redelivery minutes later.
 */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** A comma list of origins (scheme://host[:port]), each checked and normalised. */
export function parseOrigins(raw: string | undefined): string[] {
  if (!raw) return [];
  return raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean)
    .map((o) => {
      let url: URL;
      try {
        url = new URL(o);
      } catch {
        throw new Error(`${o} is not an origin (scheme://host[:port])`);
      }
      if (!/^https?:$/.test(url.protocol) || url.pathname !== '/' || url.search || url.hash || o.replace(/\/+$/, '').length !== url.origin.length) {
        throw new Error(`${o} is not an origin (scheme://host[:port], nothing after it)`);
      }
      return url.origin;
    });
}

const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
/** true/false, 1/0, yes/no, on/off; unset or empty is the default. */
const booleanFlag = (def: boolean) =>
  optionalString.transform((v, ctx) => {
    if (v === undefined) return def;
    const value = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false }[v.toLowerCase()];
    if (value === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be true or false' });
      return z.NEVER;
    }
    return value;
  });

/** As booleanFlag, but unset stays undefined (so a default can depend on other settings). */
const optionalBooleanFlag = optionalString.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const value = { true: true, '1': true, yes: true, on: true, false: false, '0': false, no: false, off: false }[v.toLowerCase()];
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  }
  return value;
});

/** The settings that turn TLS on when TEMPORAL_TLS is unset. */
const TEMPORAL_TLS_SETTINGS = ['TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_SERVER_NAME', 'TEMPORAL_API_KEY'] as const;

const KEY_NAME = /^[A-Za-z0-9._@-]{1,64}$/;

/** `secret:role` or `secret:role:name` entries, comma separated; the name is what audit records show. */
const apiKeys = optionalString.transform((raw, ctx) => {
  if (!raw) return [];
  return raw.split(',').map((entry) => {
    const parts = entry
      .trim()
      .split(':')
      .map((p) => p.trim());
    // A name follows the role when the last part is not a role itself.
    const named = parts.length >= 3 && !ROLES.includes(parts[parts.length - 1] as Role);
    const name = named ? parts.pop() : undefined;
    const role = parts.pop() as Role;
    const secret = parts.join(':');
    if (secret.length < 16 || !ROLES.includes(role) || (name !== undefined && !KEY_NAME.test(name))) {
      ctx.addIssue({
        code: 'custom',
        message: `each entry must be <secret of 16+ chars>:<${ROLES.join('|')}>[:<name: letters, digits, . _ @ -, up to 64>]`,
      });
      return z.NEVER;
    }
    return name === undefined ? { secret, role } : { secret, role, name };
  });
});

export const ConfigSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
    PORT: int(3000, 0),
    DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/whatsapp'),
    TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
    TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
    TEMPORAL_TASK_QUEUE: z.string().min(1).default('whatsapp'),
    TEMPORAL_UI_URL: z.string().url().default('http://127.0.0.1:8233'),
    /**
     * The Temporal connection (issue 13). TLS: on when set true or when any setting below is set;
     * system roots unless TEMPORAL_TLS_CA names a CA bundle. TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY:
     * the client certificate (mTLS). TEMPORAL_API_KEY: sent as `authorization: Bearer <key>`
     * (Temporal Cloud). The files are read and checked here, at start.
     */
    TEMPORAL_TLS: optionalBooleanFlag,
    TEMPORAL_TLS_CERT: optionalString,
    TEMPORAL_TLS_KEY: optionalString,
    TEMPORAL_TLS_CA: optionalString,
    TEMPORAL_TLS_SERVER_NAME: optionalString.refine(
      (v) => v === undefined || /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(v),
      'must be a host name (e.g. temporal.internal), no port or scheme',
    ),
    TEMPORAL_API_KEY: optionalString
      .refine((v) => v === undefined || !/^bearer\s/i.test(v), 'is the key alone, without "Bearer "')
      .refine((v) => v === undefined || /^bearer\s/i.test(v) || !/\s/.test(v), 'must not contain spaces or line breaks'),
    /**
     * Whether the worker may create what the namespace lacks (search attributes). On by default
     * (the dev server, a cluster you own); off for Temporal Cloud, where it only verifies.
     */
    TEMPORAL_MANAGE_NAMESPACE: booleanFlag(true),
    /** Before every workflow and Schedule id, so two deployments can share one namespace. */
    TEMPORAL_ID_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9._-]{0,40}$/, 'letters, digits, . _ - only, up to 40')
      .default(''),
    /** How long a webhook waits for Temporal to take its messages before answering 502 (the provider retries). */
    WEBHOOK_TEMPORAL_TIMEOUT_MS: int(DEFAULT_WEBHOOK_TIMEOUT_MS, 500),
    /**
     * Webhook logs (issue 13, seed 003): every request a webhook receives, recorded by the API after
     * it answered. Days a row is kept (the webhook-log-retention Schedule deletes older ones, read by
     * the worker); 0 records nothing and deletes every row (read by the API and the worker).
     */
    WEBHOOK_LOG_RETENTION_DAYS: z.coerce.number().int().min(0).max(3650).default(14),
    /** The most of a request's body a log row keeps (the rest is cut, and the row says so); 0 keeps none. */
    WEBHOOK_LOG_MAX_BODY_BYTES: z.coerce.number().int().min(0).max(1_048_576, 'must be at most 1048576 (the webhook takes 1 MB at most)').default(65_536),
    /** Message texts and captions in stored bodies are replaced by a placeholder, the structure kept. */
    WEBHOOK_LOG_REDACT_TEXT: booleanFlag(false),
    /** A workflow bundle built ahead (npm run build:bundle): the worker polls at once instead of bundling at start. */
    WORKFLOW_BUNDLE_PATH: optionalString,
    /**
     * Which proxies in front of the API to believe about the caller's address (X-Forwarded-For),
     * as Express's "trust proxy": a hop count ("1": the one proxy in front), "true", or addresses
     * and subnets (e.g. "uniquelocal"). Unset: none, the socket's peer is the caller.
     */
    TRUST_PROXY: optionalString,
    /** Browser origins that may call the API (CORS), e.g. https://dash.example.com; empty: same-origin only. */
    CORS_ORIGINS: optionalString.transform((raw, ctx) => {
      try {
        return parseOrigins(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
    /** Postgres connections per process (API or worker). */
    DB_POOL_SIZE: int(10, 1),
    /**
     * Encrypts what Postgres keeps of secrets (issue 13): the credentials of numbers added at run
     * time and AI configurations' API keys. 32 bytes, hex or base64 (openssl rand -hex 32). Unset:
     * such secrets cannot be stored or used; the environment's own number and key still work.
     */
    CREDENTIALS_ENCRYPTION_KEY: optionalString.superRefine((raw, ctx) => {
      if (raw === undefined) return;
      try {
        parseEncryptionKey(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    WHATSAPP_PROVIDER: z.enum(['meta', 'twilio', 'console']).optional(),
    WHATSAPP_API_BASE_URL: z.string().url().default('https://graph.facebook.com/v21.0'),
    WHATSAPP_PHONE_NUMBER_ID: optionalString,
    WHATSAPP_ACCESS_TOKEN: optionalString,
    WHATSAPP_APP_SECRET: optionalString,
    WHATSAPP_VERIFY_TOKEN: optionalString,
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: z.string().url().default('https://api.openai.com/v1'),
    OPENAI_MODEL: z.string().min(1).default('gpt-4o-mini'),
    LLM_SYSTEM_PROMPT_FILE: optionalString,
    LLM_MAX_CONTEXT_MESSAGES: int(20, 1),
    LLM_MAX_CONTEXT_CHARS: int(24_000, 1000),
    LLM_TEMPERATURE: z.coerce.number().min(0).max(2).default(0.3),
    LLM_MAX_TOKENS: int(1024, 1),
    LLM_TIMEOUT_MS: int(60_000, 1000),
    LLM_MAX_ATTEMPTS: int(4, 1),
    DEBOUNCE_MS: int(2000, 0),
    DEBOUNCE_MAX_WAIT_MS: int(10_000, 0),
    CHAT_CONTINUE_AS_NEW_EVENTS: int(10_000, 20),
    CAMPAIGN_CONFIRM_GRACE_MS: int(900_000, 1000),
    // At most 15 s: the wait and then a send (the WhatsApp clients give up after 15 s) must fit in
    // the send activity's 30 s start-to-close timeout (src/workflows/chat.ts).
    CHAT_SEND_CONFIRM_GRACE_MS: z.coerce.number().int().min(0).max(15_000, 'must be at most 15000 (the send activity times out after 30 s)').default(10_000),
    CAMPAIGN_CONTINUE_AS_NEW_EVENTS: int(2_000, 20),
    LEAD_FOLLOW_UP_POSTPONE_MS: int(900_000, 1000),
    LEAD_OVERDUE_AFTER_MS: int(86_400_000, 1000),
    LEAD_SWEEP_INTERVAL_MS: int(300_000, 1000),
    API_KEYS: apiKeys,
    // Users and tokens (issue 5). Dev without JWT_SECRET: a random secret per API process.
    JWT_SECRET: optionalString,
    JWT_TTL_SECONDS: int(900, 60),
    REFRESH_TOKEN_TTL_SECONDS: int(30 * 86_400, 300),
    ADMIN_EMAIL: optionalString,
    ADMIN_PASSWORD: optionalString,
    // API limits per key or user, and the largest request body.
    RATE_LIMIT_PER_MINUTE: int(100, 1),
    // Seed 004 says 1000 an hour; an operator console following a running campaign makes ~1800, so the
    // default lets the per-minute limit govern sustained use and the hourly one catch runaway clients.
    RATE_LIMIT_PER_HOUR: int(6000, 1),
    // Logins (issue 15): failed ones per address and email and per address per 15 minutes, and all
    // logins that check a password per minute, every caller together (each costs ~100 ms of bcrypt).
    LOGIN_LIMIT_PER_EMAIL: int(10, 1),
    LOGIN_LIMIT_PER_ADDRESS: int(30, 1),
    LOGIN_LIMIT_PER_MINUTE: int(120, 1),
    REQUEST_BODY_LIMIT: z
      .string()
      .regex(/^\d+(b|kb|mb)$/i, 'must look like 256kb or 1mb')
      .default('256kb'),
    // Inbound messages per WhatsApp user; beyond it they are recorded but not sent to the LLM.
    INBOUND_RATE_LIMIT_MESSAGES: int(10, 1),
    INBOUND_RATE_LIMIT_WINDOW_MS: int(60_000, 1000),
    // The worker's own Prometheus endpoint (its LLM and send series); 0 turns it off.
    WORKER_METRICS_PORT: int(9464, 0),
    // Loopback unless set: the worker's metrics are for a scraper on this host (0.0.0.0 for one elsewhere).
    WORKER_METRICS_HOST: optionalString.transform((v) => v ?? '127.0.0.1'),
    WORKER_MAX_CACHED_WORKFLOWS: int(1000, 1),
    // Per-model prices for the cost analytics: model=input:output USD per million tokens, comma separated.
    LLM_PRICES: optionalString.superRefine((raw, ctx) => {
      try {
        parseLlmPrices(raw);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    }),
    TWILIO_ACCOUNT_SID: optionalString,
    TWILIO_AUTH_TOKEN: optionalString,
    TWILIO_WHATSAPP_FROM: optionalString,
    TWILIO_API_BASE_URL: z.string().url().default('https://api.twilio.com'),
    PUBLIC_BASE_URL: optionalString,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .superRefine((c, ctx) => {
    const need = (name: keyof typeof c, why: string) => ctx.addIssue({ code: 'custom', path: [name], message: `is required ${why}` });
    if (c.NODE_ENV === 'production') {
      if (!c.WHATSAPP_APP_SECRET) need('WHATSAPP_APP_SECRET', 'when NODE_ENV=production');
      if (c.API_KEYS.length === 0) need('API_KEYS', 'when NODE_ENV=production');
      if (!c.JWT_SECRET) need('JWT_SECRET', 'when NODE_ENV=production');
    }
    const provider = c.WHATSAPP_PROVIDER ?? (c.WHATSAPP_ACCESS_TOKEN ? 'meta' : 'console');
    if (provider === 'meta') {
      if (!c.WHATSAPP_ACCESS_TOKEN) need('WHATSAPP_ACCESS_TOKEN', 'when WHATSAPP_PROVIDER=meta');
      if (!c.WHATSAPP_PHONE_NUMBER_ID) need('WHATSAPP_PHONE_NUMBER_ID', 'when WHATSAPP_PROVIDER=meta');
    }
    if (provider === 'twilio') {
      if (!c.TWILIO_ACCOUNT_SID) need('TWILIO_ACCOUNT_SID', 'when WHATSAPP_PROVIDER=twilio');
      if (!c.TWILIO_AUTH_TOKEN) need('TWILIO_AUTH_TOKEN', 'when WHATSAPP_PROVIDER=twilio');
      if (!c.TWILIO_WHATSAPP_FROM) need('TWILIO_WHATSAPP_FROM', 'when WHATSAPP_PROVIDER=twilio');
    }
    if (c.JWT_SECRET && c.JWT_SECRET.length < 32) {
      ctx.addIssue({ code: 'custom', path: ['JWT_SECRET'], message: 'must be at least 32 characters' });
    }
    if (c.ADMIN_PASSWORD && c.ADMIN_PASSWORD.length < 10) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'must be at least 10 characters' });
    }
    if (Boolean(c.ADMIN_EMAIL) !== Boolean(c.ADMIN_PASSWORD)) {
      ctx.addIssue({ code: 'custom', path: ['ADMIN_PASSWORD'], message: 'ADMIN_EMAIL and ADMIN_PASSWORD go together' });
    }
    if (c.DEBOUNCE_MAX_WAIT_MS < c.DEBOUNCE_MS) {
      ctx.addIssue({ code: 'custom', path: ['DEBOUNCE_MAX_WAIT_MS'], message: 'must be >= DEBOUNCE_MS' });
    }
    if (c.TEMPORAL_TLS === false) {
      const set = TEMPORAL_TLS_SETTINGS.filter((name) => c[name] !== undefined);
      if (set.length > 0) {
        const why = set.includes('TEMPORAL_API_KEY') ? ' (the API key would travel unencrypted)' : '';
        ctx.addIssue({
          code: 'custom',
          path: ['TEMPORAL_TLS'],
          message: `is false but ${set.join(', ')} ${set.length > 1 ? 'are' : 'is'} set${why}: unset TEMPORAL_TLS or them`,
        });
      }
    }
    // Both files, readable, PEM, and the key the certificate's (a start-up error naming the setting).
    for (const issue of checkTemporalTlsFiles(c)) ctx.addIssue({ code: 'custom', path: [issue.setting], message: issue.message });
  })
  .transform((c) => ({
    ...c,
    WHATSAPP_PROVIDER: c.WHATSAPP_PROVIDER ?? (c.WHATSAPP_ACCESS_TOKEN ? 'meta' : 'console'),
    TEMPORAL_TLS: c.TEMPORAL_TLS ?? TEMPORAL_TLS_SETTINGS.some((name) => c[name] !== undefined),
  }));

export type Config = z.infer<typeof ConfigSchema>;

export class ConfigError extends Error {}

/** Parses the environment once; the message names the first offending variable. */
export function parseConfig(env: NodeJS.ProcessEnv): Config {
  const result = ConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const name = issue.path.join('.') || 'environment';
  throw new ConfigError(`Invalid configuration: ${name} ${issue.message}`);
}

/** For entry points: one clear line and exit code 1 on bad config. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return parseConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
