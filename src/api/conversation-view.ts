import { z } from 'zod';
import type { WorkflowIds } from '../temporal/workflow-ids';
import { CONVERSATION_PRIORITIES, type ConversationChange } from '../workflows/definitions';

/** A conversation row as Postgres mirrors it (list, detail, stream). */
export interface ConversationRow {
  id: string;
  number_id: number;
  wa_id: string;
  contact_name: string | null;
  mode: 'bot' | 'operator';
  needs_human: boolean;
  operator: string | null;
  created_at: Date;
  updated_at: Date;
  last_message_at: Date | null;
  last_inbound_at: Date | null;
  status: 'open' | 'closed';
  archived_at: Date | null;
  closed_at: Date | null;
  assigned_to: number | null;
  tags: string[];
  priority: (typeof CONVERSATION_PRIORITIES)[number];
  unread_count: number;
  last_read_at: Date | null;
  assignee: { id: number; email: string; full_name: string | null } | null;
  business_number: { id: number; name: string | null; display_number: string | null };
}

/** The conversation as every route shows it. `status` is the inbox's; who answers is `handling`. */
export function conversationView<R extends ConversationRow>(c: R, ids: WorkflowIds) {
  const { archived_at, ...rest } = c;
  return {
    ...rest,
    phone: c.wa_id,
    archived: archived_at !== null,
    archived_at,
    handling: c.needs_human ? ('needs_human' as const) : c.mode,
    workflow_id: ids.chat(c.wa_id, c.number_id),
  };
}

export const ConversationView = z.object({
  id: z.string(),
  number_id: z.number().int().describe('The business number the conversation is with (GET /api/v1/numbers); 1 is the default number'),
  business_number: z
    .object({ id: z.number().int(), name: z.string().nullable(), display_number: z.string().nullable() })
    .describe('That number as the inbox shows it'),
  wa_id: z.string(),
  phone: z.string(),
  contact_name: z.string().nullable(),
  status: z.enum(['open', 'closed']).describe('open, or closed (a customer writing reopens it)'),
  archived: z.boolean().describe('Archived (DELETE): closed and left out of lists unless archived=true'),
  archived_at: z.date().nullable(),
  closed_at: z.date().nullable(),
  handling: z.enum(['bot', 'operator', 'needs_human']).describe('Who answers now: the bot, an operator, or the bot asks for a human'),
  mode: z.enum(['bot', 'operator']),
  needs_human: z.boolean(),
  operator: z.string().nullable().describe('Who holds the chat in operator mode (user:<id> or key:<name>)'),
  assigned_to: z.number().int().nullable().describe('The user who owns the conversation'),
  assignee: z.object({ id: z.number().int(), email: z.string(), full_name: z.string().nullable() }).nullable(),
  tags: z.array(z.string()),
  priority: z.enum(CONVERSATION_PRIORITIES),
  unread_count: z.number().int().describe('Inbound messages since an operator last marked it read'),
  last_read_at: z.date().nullable(),
  workflow_id: z.string().describe('The chat workflow in Temporal: chat-<wa_id>, or chat-<wa_id>@<number_id> for numbers but the default'),
  created_at: z.date(),
  updated_at: z.date(),
  last_message_at: z.date().nullable(),
  last_inbound_at: z.date().nullable(),
});

/** The inbox state Postgres has, for a chat that must start again (see ChatWorkflowInput.lifecycle). */
export function lifecycleOfRow(c: {
  status: 'open' | 'closed';
  archived_at: Date | null;
  assigned_to: number | null;
  tags: string[];
  priority: ConversationChange['priority'];
}): ConversationChange {
  return { status: c.status, archived: c.archived_at !== null, assignedTo: c.assigned_to, tags: c.tags, ...(c.priority ? { priority: c.priority } : {}) };
}
