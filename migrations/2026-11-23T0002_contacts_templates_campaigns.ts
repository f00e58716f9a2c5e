import { sql, type Kysely } from 'kysely';

/**
 * Contacts (seed 004) with their phone numbers, message templates (seed 002), campaigns and one row
 * per campaign recipient. The recipient row's primary key is what keeps a contact from ever getting
 * the same campaign twice.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('contacts')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('first_name', 'text')
    .addColumn('last_name', 'text')
    .addColumn('email', 'text')
    .addColumn('company', 'text')
    .addColumn('job_title', 'text')
    .addColumn('notes', 'text')
    .addColumn('tags', sql`text[]`, (c) => c.notNull().defaultTo(sql`'{}'`))
    // Custom fields, usable as template variables ({{city}} ...).
    .addColumn('attributes', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('opt_in_status', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('opted_in_at', 'timestamptz')
    .addColumn('opt_in_source', 'text')
    .addColumn('opted_out_at', 'timestamptz')
    .addColumn('opt_out_source', 'text')
    .addColumn('opt_out_reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create index contacts_tags_idx on contacts using gin (tags)`.execute(db);
  await db.schema.createIndex('contacts_opt_in_idx').on('contacts').columns(['opt_in_status', 'id']).execute();

  await db.schema
    .createTable('contact_phone_numbers')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('contact_id', 'integer', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    // E.164 ("+919876543210") and the WhatsApp id Meta uses for it (digits only).
    .addColumn('phone_number', 'text', (c) => c.notNull().unique())
    .addColumn('wa_id', 'text', (c) => c.notNull().unique())
    .addColumn('label', 'text')
    .addColumn('is_primary', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('verified_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index contact_phone_numbers_one_primary on contact_phone_numbers (contact_id) where is_primary`.execute(db);

  // Opt-outs of deleted contacts, by number: deleting a contact must not erase a STOP, or a later
  // import could subscribe that number again.
  await db.schema
    .createTable('opt_out_suppressions')
    .addColumn('wa_id', 'text', (c) => c.primaryKey())
    .addColumn('opted_out_at', 'timestamptz', (c) => c.notNull())
    .addColumn('source', 'text')
    .addColumn('reason', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('templates')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('category', 'text', (c) => c.notNull().check(sql`category in ('MARKETING', 'UTILITY', 'AUTHENTICATION')`))
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('APPROVED', 'PENDING', 'REJECTED')`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addUniqueConstraint('templates_name_language_key', ['name', 'language'])
    .execute();

  await db.schema
    .createTable('campaigns')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('template_id', 'integer', (c) => c.notNull().references('templates.id').onDelete('restrict'))
    // Defaults for template variables that the contact does not supply.
    .addColumn('variables', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('audience', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .addColumn('rate_per_second', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(20)
        .check(sql`rate_per_second between 1 and 80`),
    )
    .addColumn('scheduled_at', 'timestamptz')
    .addColumn('cron', 'text')
    .addColumn('timezone', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('draft')
        .check(sql`status in ('draft', 'scheduled', 'running', 'paused', 'stopped', 'completed')`),
    )
    // The run in progress (set by the run itself), so the API can signal it.
    .addColumn('current_workflow_id', 'text')
    .addColumn('total_recipients', 'integer')
    .addColumn('started_at', 'timestamptz')
    .addColumn('finished_at', 'timestamptz')
    .addColumn('last_error', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('campaign_recipients')
    .addColumn('campaign_id', 'integer', (c) => c.notNull().references('campaigns.id').onDelete('cascade'))
    // No foreign key: a deleted contact's send stays on record for the campaign's stats.
    .addColumn('contact_id', 'integer', (c) => c.notNull())
    .addColumn('wa_id', 'text', (c) => c.notNull())
    // The outbound message's client key (messages.client_key): its delivery status lives there.
    .addColumn('client_key', 'text', (c) => c.notNull().unique())
    // sending: handed to WhatsApp, outcome not yet stored; unconfirmed: a worker died in that gap,
    // so the message may or may not have gone out and is never sent again.
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('sending', 'sent', 'failed', 'unconfirmed')`))
    .addColumn('kind', 'text', (c) => c.check(sql`kind in ('template', 'text')`))
    .addColumn('wamid', 'text')
    .addColumn('error', 'jsonb')
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('chat_notified', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('sent_at', 'timestamptz')
    .addColumn('replied_at', 'timestamptz')
    .addPrimaryKeyConstraint('campaign_recipients_pkey', ['campaign_id', 'contact_id'])
    // Also once per number: a contact deleted and imported again, or a number moved to another
    // contact, still gets the campaign once.
    .addUniqueConstraint('campaign_recipients_wa_id_key', ['campaign_id', 'wa_id'])
    .execute();
  await db.schema.createIndex('campaign_recipients_wa_id_idx').on('campaign_recipients').columns(['wa_id', 'sent_at']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('campaign_recipients').execute();
  await db.schema.dropTable('campaigns').execute();
  await db.schema.dropTable('templates').execute();
  await db.schema.dropTable('opt_out_suppressions').execute();
  await db.schema.dropTable('contact_phone_numbers').execute();
  await db.schema.dropTable('contacts').execute();
}
