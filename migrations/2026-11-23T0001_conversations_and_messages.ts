import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('conversations')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('wa_id', 'text', (c) => c.notNull().unique())
    .addColumn('contact_name', 'text')
    .addColumn('mode', 'text', (c) =>
      c
        .notNull()
        .defaultTo('bot')
        .check(sql`mode in ('bot', 'operator')`),
    )
    .addColumn('needs_human', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('operator', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_message_at', 'timestamptz')
    .addColumn('last_inbound_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('conversations_created_at_idx').on('conversations').column('created_at').execute();

  await db.schema
    .createTable('messages')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('conversation_id', 'uuid', (c) => c.notNull().references('conversations.id').onDelete('cascade'))
    .addColumn('direction', 'text', (c) => c.notNull().check(sql`direction in ('inbound', 'outbound')`))
    .addColumn('sender_type', 'text', (c) => c.notNull().check(sql`sender_type in ('user', 'bot', 'operator', 'campaign')`))
    // Meta's message id; null only while an outbound message is being handed to the provider.
    .addColumn('wamid', 'text', (c) => c.unique())
    // Idempotency key of an outbound send, chosen by the workflow, so a retried send is detected.
    .addColumn('client_key', 'text', (c) => c.unique())
    .addColumn('message_type', 'text', (c) => c.notNull())
    .addColumn('content', 'text', (c) => c.notNull())
    .addColumn('media', 'jsonb')
    .addColumn('metadata', 'jsonb')
    .addColumn('delivery_status', 'text', (c) => c.notNull().check(sql`delivery_status in ('received', 'pending', 'sent', 'delivered', 'read', 'failed')`))
    .addColumn('status_updated_at', 'timestamptz')
    .addColumn('error', 'jsonb')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('recorded_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('messages_conversation_idx').on('messages').columns(['conversation_id', 'id']).execute();
  await db.schema.createIndex('messages_created_at_idx').on('messages').column('created_at').execute();

  // Status receipts as Meta sent them, kept even when they arrive before the send recorded its wamid.
  await db.schema
    .createTable('delivery_receipts')
    .addColumn('wamid', 'text', (c) => c.primaryKey())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('recipient_id', 'text')
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull())
    .addColumn('errors', 'jsonb')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('delivery_receipts').execute();
  await db.schema.dropTable('messages').execute();
  await db.schema.dropTable('conversations').execute();
}
