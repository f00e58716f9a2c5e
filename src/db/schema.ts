import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

import type { ChatMode, ConversationPriority, ConversationStatus } from '../workflows/definitions';
import type { Role } from '../config';

export type { ChatMode };
export type SenderType = 'user' | 'bot' | 'operator' | 'campaign';
export type DeliveryStatus = 'received' | 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface ConversationsTable {
  id: Generated<string>;
  /** whatsapp_numbers.id: the business number this conversation is with (1: the default number). */
  number_id: ColumnType<number, number | undefined, number>;
  wa_id: string;
  contact_name: string | null;
  mode: ChatMode;
  needs_human: boolean;
  operator: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_message_at: Timestamp | null;
  last_inbound_at: Timestamp | null;
  status: ColumnType<ConversationStatus, ConversationStatus | undefined, ConversationStatus>;
  archived_at: Timestamp | null;
  closed_at: Timestamp | null;
  assigned_to: number | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  priority: ColumnType<ConversationPriority, ConversationPriority | undefined, ConversationPriority>;
  unread_count: ColumnType<number, number | undefined, number>;
  last_read_at: Timestamp | null;
}

export interface MessagesTable {
  id: Generated<string>;
  conversation_id: string;
  direction: 'inbound' | 'outbound';
  sender_type: SenderType;
  wamid: string | null;
  client_key: string | null;
  message_type: string;
  content: string;
  media: Json | null;
  metadata: Json | null;
  delivery_status: DeliveryStatus;
  status_updated_at: Timestamp | null;
  error: Json | null;
  created_at: Timestamp;
  recorded_at: Generated<Date>;
  /** Outbound: handed to the provider at this time, outcome not yet known (a send in doubt). */
  send_started_at: Timestamp | null;
}

export interface DeliveryReceiptsTable {
  wamid: string;
  status: DeliveryStatus;
  recipient_id: string | null;
  occurred_at: Timestamp;
  errors: Json | null;
  updated_at: Generated<Date>;
}

export interface Database {
  conversations: ConversationsTable;
  messages: MessagesTable;
  delivery_receipts: DeliveryReceiptsTable;
}

export type Conversation = Selectable<ConversationsTable>;
export type Message = Selectable<MessagesTable>;
export type NewMessage = Insertable<MessagesTable>;

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface ContactsTable {
  id: Generated<number>;
  first_name: string | null;
  last_name: string | null;
  email: string | null;
  company: string | null;
  job_title: string | null;
  notes: string | null;
  tags: ColumnType<string[], string[] | undefined, string[]>;
  attributes: ColumnType<Record<string, unknown>, string | undefined, string>;
  opt_in_status: ColumnType<boolean, boolean | undefined, boolean>;
  opted_in_at: Timestamp | null;
  opt_in_source: string | null;
  opted_out_at: Timestamp | null;
  opt_out_source: string | null;
  opt_out_reason: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ContactPhoneNumbersTable {
  id: Generated<number>;
  contact_id: number;
  phone_number: string;
  wa_id: string;
  label: string | null;
  is_primary: ColumnType<boolean, boolean | undefined, boolean>;
  verified_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OptOutSuppressionsTable {
  wa_id: string;
  opted_out_at: Timestamp;
  source: string | null;
  reason: string | null;
  created_at: CreatedAt;
}

export type TemplateStatus = 'APPROVED' | 'PENDING' | 'REJECTED';
export type TemplateCategory = 'MARKETING' | 'UTILITY' | 'AUTHENTICATION';

export interface TemplatesTable {
  id: Generated<number>;
  name: string;
  language: string;
  category: TemplateCategory;
  body: string;
  status: TemplateStatus;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type CampaignStatus = 'draft' | 'scheduled' | 'running' | 'paused' | 'stopped' | 'completed';

export interface CampaignsTable {
  id: Generated<number>;
  /** The business number the campaign sends from. */
  number_id: ColumnType<number, number | undefined, number>;
  name: string;
  description: string | null;
  template_id: number;
  variables: ColumnType<Record<string, string>, string | undefined, string>;
  audience: ColumnType<Record<string, unknown>, string | undefined, string>;
  rate_per_second: ColumnType<number, number | undefined, number>;
  scheduled_at: Timestamp | null;
  cron: string | null;
  timezone: string | null;
  status: ColumnType<CampaignStatus, CampaignStatus | undefined, CampaignStatus>;
  current_workflow_id: string | null;
  total_recipients: number | null;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  last_error: string | null;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export type RecipientState = 'sending' | 'sent' | 'failed' | 'unconfirmed';

export interface CampaignRecipientsTable {
  campaign_id: number;
  contact_id: number;
  wa_id: string;
  client_key: string;
  state: RecipientState;
  kind: 'template' | 'text' | null;
  wamid: string | null;
  error: Json | null;
  attempts: ColumnType<number, number | undefined, number>;
  chat_notified: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: CreatedAt;
  sent_at: Timestamp | null;
  replied_at: Timestamp | null;
}

export interface Database {
  contacts: ContactsTable;
  contact_phone_numbers: ContactPhoneNumbersTable;
  opt_out_suppressions: OptOutSuppressionsTable;
  templates: TemplatesTable;
  campaigns: CampaignsTable;
  campaign_recipients: CampaignRecipientsTable;
}

export type Contact = Selectable<ContactsTable>;
export type ContactPhoneNumber = Selectable<ContactPhoneNumbersTable>;
export type Template = Selectable<TemplatesTable>;
export type Campaign = Selectable<CampaignsTable>;
export type CampaignRecipient = Selectable<CampaignRecipientsTable>;

export type LeadStatus = 'new' | 'contacted' | 'qualified' | 'proposal' | 'negotiation' | 'won' | 'lost';
export type LeadPriority = 'low' | 'medium' | 'high' | 'urgent';
export type LeadActivityType =
  | 'created'
  | 'updated'
  | 'assigned'
  | 'contacted'
  | 'status_changed'
  | 'score_changed'
  | 'follow_up_scheduled'
  | 'follow_up_sent'
  | 'follow_up_postponed'
  | 'follow_up_cancelled'
  | 'replied'
  | 'converted'
  | 'lost'
  | 'overdue';

/** numeric(14,2): read as an exact string ("50000.00"), written as a string or a number. */
type Money = ColumnType<string | null, string | number | null | undefined, string | number | null>;

export interface LeadsTable {
  id: Generated<number>;
  /** The business number follow-ups are sent from. */
  number_id: ColumnType<number, number | undefined, number>;
  contact_id: number;
  campaign_id: number | null;
  title: string;
  description: string | null;
  status: ColumnType<LeadStatus, LeadStatus | undefined, LeadStatus>;
  priority: ColumnType<LeadPriority, LeadPriority | undefined, LeadPriority>;
  source: ColumnType<string, string | undefined, string>;
  estimated_value: Money;
  probability: number | null;
  lead_score: ColumnType<number, number | undefined, number>;
  assigned_to: string | null;
  next_follow_up_at: Timestamp | null;
  follow_up_message: string | null;
  follow_up_template_id: number | null;
  last_contacted_at: Timestamp | null;
  last_follow_up_at: Timestamp | null;
  last_reply_at: Timestamp | null;
  overdue_since: Timestamp | null;
  converted_at: Timestamp | null;
  closed_at: Timestamp | null;
  lost_reason: string | null;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface LeadActivitiesTable {
  id: Generated<string>;
  lead_id: number;
  type: LeadActivityType;
  description: string;
  metadata: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  actor: string | null;
  created_at: CreatedAt;
}

export interface Database {
  leads: LeadsTable;
  lead_activities: LeadActivitiesTable;
}

export type Lead = Selectable<LeadsTable>;
export type LeadActivity = Selectable<LeadActivitiesTable>;

export interface UsersTable {
  id: Generated<number>;
  email: string;
  full_name: string | null;
  password_hash: string;
  role: Role;
  is_active: ColumnType<boolean, boolean | undefined, boolean>;
  last_login_at: Timestamp | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface RefreshTokensTable {
  id: Generated<string>;
  user_id: number;
  token_hash: string;
  family: string;
  expires_at: ColumnType<Date, Date | string, never>;
  used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  created_at: CreatedAt;
}

export interface LlmUsageTable {
  id: Generated<string>;
  call_key: string;
  conversation_id: string | null;
  wa_id: string | null;
  model: string;
  prompt_tokens: ColumnType<number, number | undefined, number>;
  completion_tokens: ColumnType<number, number | undefined, number>;
  latency_ms: number | null;
  outcome: ColumnType<'reply' | 'handoff' | 'error', 'reply' | 'handoff' | 'error' | undefined, never>;
  number_id: ColumnType<number | null, number | null | undefined, never>;
  /** The AI configuration and version the call used; null for the settings from the environment. */
  ai_configuration_id: ColumnType<number | null, number | null | undefined, never>;
  ai_configuration_version: ColumnType<number | null, number | null | undefined, never>;
  created_at: CreatedAt;
}

export interface Database {
  users: UsersTable;
  refresh_tokens: RefreshTokensTable;
  llm_usage: LlmUsageTable;
}

export type User = Selectable<UsersTable>;

/** An uploaded file (issue 13): one per content, type and provider; see migrations/…0010_media_files. */
export interface MediaFilesTable {
  id: string;
  sha256: string;
  mime_type: string;
  size: number;
  filename: string | null;
  caption: string | null;
  provider: 'meta' | 'twilio' | 'console';
  state: 'uploading' | 'ready';
  upload_claim: string | null;
  upload_started_at: Timestamp | null;
  provider_media_id: string | null;
  token: string | null;
  uploaded_at: Timestamp | null;
  expires_at: Timestamp | null;
  created_by: string;
  created_at: CreatedAt;
}

export interface MediaFileChunksTable {
  file_id: string;
  seq: number;
  data: Buffer;
}

export interface Database {
  media_files: MediaFilesTable;
  media_file_chunks: MediaFileChunksTable;
}

export type MediaFile = Selectable<MediaFilesTable>;

/** One request a webhook received (issue 13, seed 003's webhook logs); see migrations/…0009_webhook_logs. */
export type WebhookLogProvider = 'meta' | 'twilio';
export type SignatureVerdict = 'valid' | 'missing' | 'invalid' | 'not_checked';

export interface WebhookLogsTable {
  id: Generated<string>;
  received_at: Timestamp;
  provider: WebhookLogProvider;
  method: string;
  path: string;
  business_numbers: ColumnType<string[], string[] | undefined, string[]>;
  signature: SignatureVerdict;
  status_code: number | null;
  outcome: string;
  messages: ColumnType<number, number | undefined, number>;
  statuses: ColumnType<number, number | undefined, number>;
  skipped: ColumnType<number, number | undefined, number>;
  error: string | null;
  duration_ms: number;
  request_id: string | null;
  content_type: string | null;
  body: string | null;
  body_bytes: ColumnType<number, number | undefined, number>;
  body_truncated: ColumnType<boolean, boolean | undefined, boolean>;
  body_redacted: ColumnType<boolean, boolean | undefined, boolean>;
  message_ids: ColumnType<string[], string[] | undefined, string[]>;
}

export interface Database {
  webhook_logs: WebhookLogsTable;
}

export type WebhookLog = Selectable<WebhookLogsTable>;
export type NewWebhookLog = Insertable<WebhookLogsTable>;

export type NumberProvider = 'meta' | 'twilio' | 'console';

/** A business WhatsApp number (issue 13); row 1 is the default number, configured by the environment. */
export interface WhatsAppNumbersTable {
  id: Generated<number>;
  /** Meta's phone_number_id; for Twilio the number's digits (what its webhooks name in To). */
  phone_number_id: string;
  display_number: string | null;
  name: string | null;
  provider: NumberProvider;
  /** src/crypto/secrets.ts: the provider credentials, encrypted; null for the default number (the environment's). */
  credentials_encrypted: string | null;
  ai_configuration_id: number | null;
  enabled: ColumnType<boolean, boolean | undefined, boolean>;
  is_default: ColumnType<boolean, boolean | undefined, never>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

/** Named model settings a number answers with (issue 13); every change is a new version. */
export interface AiConfigurationsTable {
  id: Generated<number>;
  name: string;
  /** An OpenAI-compatible endpoint; null: OPENAI_BASE_URL. */
  base_url: string | null;
  /** Encrypted (src/crypto/secrets.ts); null: OPENAI_API_KEY. */
  api_key_encrypted: string | null;
  model: string;
  temperature: number;
  max_tokens: number;
  system_prompt: string;
  context_messages: number;
  tools_enabled: ColumnType<boolean, boolean | undefined, boolean>;
  debounce_ms: number;
  max_wait_ms: number;
  is_default: ColumnType<boolean, boolean | undefined, boolean>;
  version: ColumnType<number, number | undefined, number>;
  deleted_at: Timestamp | null;
  created_by: string | null;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface AiConfigurationVersionsTable {
  configuration_id: number;
  version: number;
  settings: ColumnType<AiConfigurationSnapshot, string, never>;
  created_by: string | null;
  created_at: CreatedAt;
}

/** One version of an AI configuration, whole: what a reply uses (the key stays encrypted). */
export interface AiConfigurationSnapshot {
  name: string;
  baseUrl: string | null;
  apiKeyEncrypted: string | null;
  model: string;
  temperature: number;
  maxTokens: number;
  systemPrompt: string;
  contextMessages: number;
  toolsEnabled: boolean;
  debounceMs: number;
  maxWaitMs: number;
}

export interface Database {
  whatsapp_numbers: WhatsAppNumbersTable;
  ai_configurations: AiConfigurationsTable;
  ai_configuration_versions: AiConfigurationVersionsTable;
}

export type WhatsAppNumber = Selectable<WhatsAppNumbersTable>;
export type AiConfiguration = Selectable<AiConfigurationsTable>;
