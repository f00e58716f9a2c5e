import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

import type { ChatMode } from '../workflows/definitions';

export type { ChatMode };
export type SenderType = 'user' | 'bot' | 'operator' | 'campaign';
export type DeliveryStatus = 'received' | 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

export interface ConversationsTable {
  id: Generated<string>;
  wa_id: string;
  contact_name: string | null;
  mode: ChatMode;
  needs_human: boolean;
  operator: string | null;
  created_at: Generated<Date>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  last_message_at: Timestamp | null;
  last_inbound_at: Timestamp | null;
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
