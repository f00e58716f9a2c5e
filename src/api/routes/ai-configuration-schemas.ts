import { z } from 'zod';
import { AI_KEY_PURPOSE } from '../../ai/model';
import { maskSecret, type SecretBox } from '../../crypto/secrets';
import { snapshotOf } from '../../db/ai-configurations';
import type { AiConfiguration, AiConfigurationSnapshot } from '../../db/schema';

/** Whether a URL carries a user or password (false for what is not a URL: z.url says so). */
function hasCredentials(url: string): boolean {
  try {
    const u = new URL(url);
    return Boolean(u.username || u.password);
  } catch {
    return false;
  }
}

const BaseUrl = z
  .string()
  .trim()
  .max(2000)
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL such as https://api.openai.com/v1' }))
  // A URL is shown to every admin and logged; a key in it would be too.
  .refine((u) => !hasCredentials(u), 'must not carry credentials: give the key as api_key');

/** The settings a chat answers with: the fields of an AI configuration, and what PATCH /admin/settings changes. */
export const AiSettingsShape = {
  base_url: BaseUrl.nullable().describe("An OpenAI-compatible endpoint; null: the environment's OPENAI_BASE_URL"),
  model: z.string().trim().min(1).max(200),
  temperature: z.number().min(0).max(2),
  max_tokens: z.number().int().min(1).max(32_768),
  system_prompt: z
    .string()
    .max(20_000)
    .refine((s) => s.trim() !== '', 'must not be empty'),
  context_messages: z.number().int().min(1).max(100).describe('Past messages sent with each burst'),
  tools_enabled: z.boolean().describe('handoff_to_human and qualify_lead offered to the model'),
  debounce_ms: z.number().int().min(0).max(60_000).describe('Quiet time before a burst is answered'),
  max_wait_ms: z.number().int().min(0).max(300_000).describe('Longest a burst may delay a reply; at least debounce_ms'),
};

const ApiKey = z
  .string()
  .trim()
  .min(1)
  .max(2000)
  .regex(/^\S+$/, 'must not contain spaces or line breaks')
  .nullable()
  .describe("Write-only: stored encrypted, shown masked. null: the environment's OPENAI_API_KEY");
const Name = z.string().trim().min(1).max(100).describe('Unique, case-insensitive');
const settings = z.object(AiSettingsShape).partial().shape;

/**
 * Strict bodies: a misspelt field (temprature) must not be quietly ignored, leaving the old value
 * in effect. The message names the unknown fields and what the route takes instead.
 */
export function unknownFields(takes: string[], hint = '') {
  return {
    error: (issue: { code?: string; keys?: string[] }) =>
      issue.code === 'unrecognized_keys' && issue.keys
        ? `Unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}: this route takes ${takes.join(', ')}${hint}`
        : undefined,
  };
}

const FIELDS = ['name', 'api_key', 'is_default', ...Object.keys(AiSettingsShape)];
export const CreateBody = z.strictObject(
  { name: Name, api_key: ApiKey.optional(), is_default: z.boolean().default(false), ...settings },
  unknownFields(FIELDS),
);
export const UpdateBody = z
  .strictObject({ name: Name.optional(), api_key: ApiKey.optional(), is_default: z.boolean().optional(), ...settings }, unknownFields(FIELDS))
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'Nothing to change');

export const TestBody = z.object({ message: z.string().trim().min(1).max(4096).optional().describe('Default: "Hello! Reply with a short greeting."') });

const SettingsView = z.object({
  name: z.string(),
  base_url: z.string().nullable(),
  api_key: z.string().nullable().describe("Masked (••••abcd); null when the environment's key is used"),
  api_key_source: z.enum(['configuration', 'environment']),
  api_key_error: z.string().nullable().describe('Why the stored key cannot be read by this API process (another CREDENTIALS_ENCRYPTION_KEY)'),
  model: z.string(),
  temperature: z.number(),
  max_tokens: z.number().int(),
  system_prompt: z.string(),
  context_messages: z.number().int(),
  tools_enabled: z.boolean(),
  debounce_ms: z.number().int(),
  max_wait_ms: z.number().int(),
});

export const ConfigurationView = SettingsView.extend({
  id: z.number().int(),
  is_default: z.boolean(),
  version: z.number().int().describe('Goes up with every change of the settings'),
  used_by_numbers: z.array(z.number().int()).describe('The numbers that answer with this configuration as their own'),
  created_by: z.string().nullable(),
  created_at: z.date(),
  updated_at: z.date(),
});

export const VersionView = z.object({ version: z.number().int(), created_at: z.date(), created_by: z.string().nullable(), settings: SettingsView });

/** Never the key: masked after opening, so an admin can tell which key it is. */
function maskedKey(sealed: string | null, secrets: SecretBox | undefined): { api_key: string | null; api_key_error: string | null } {
  if (!sealed) return { api_key: null, api_key_error: null };
  if (!secrets) return { api_key: '••••', api_key_error: 'CREDENTIALS_ENCRYPTION_KEY is not set in this API process' };
  try {
    return { api_key: maskSecret(secrets.open(sealed, AI_KEY_PURPOSE)), api_key_error: null };
  } catch (err) {
    return { api_key: '••••', api_key_error: (err as Error).message };
  }
}

export function settingsView(s: AiConfigurationSnapshot, secrets: SecretBox | undefined): z.infer<typeof SettingsView> {
  return {
    name: s.name,
    base_url: s.baseUrl,
    ...maskedKey(s.apiKeyEncrypted, secrets),
    api_key_source: s.apiKeyEncrypted ? 'configuration' : 'environment',
    model: s.model,
    temperature: s.temperature,
    max_tokens: s.maxTokens,
    system_prompt: s.systemPrompt,
    context_messages: s.contextMessages,
    tools_enabled: s.toolsEnabled,
    debounce_ms: s.debounceMs,
    max_wait_ms: s.maxWaitMs,
  };
}

export function configurationView(row: AiConfiguration, usedBy: number[], secrets: SecretBox | undefined): z.infer<typeof ConfigurationView> {
  return {
    id: row.id,
    ...settingsView(snapshotOf(row), secrets),
    is_default: row.is_default,
    version: row.version,
    used_by_numbers: usedBy,
    created_by: row.created_by,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
