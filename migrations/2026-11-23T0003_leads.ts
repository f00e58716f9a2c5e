import { sql, type Kysely } from 'kysely';

/**
 * Leads (seed 004) and their activity log. A contact has at most one open lead (a partial unique
 * index), so a campaign reply or a chat never opens a second one for someone already in the pipeline.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('leads')
    .addColumn('id', 'serial', (c) => c.primaryKey())
    .addColumn('contact_id', 'integer', (c) => c.notNull().references('contacts.id').onDelete('cascade'))
    .addColumn('campaign_id', 'integer', (c) => c.references('campaigns.id').onDelete('set null'))
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('description', 'text')
    .addColumn('status', 'text', (c) =>
      c
        .notNull()
        .defaultTo('new')
        .check(sql`status in ('new', 'contacted', 'qualified', 'proposal', 'negotiation', 'won', 'lost')`),
    )
    .addColumn('priority', 'text', (c) =>
      c
        .notNull()
        .defaultTo('medium')
        .check(sql`priority in ('low', 'medium', 'high', 'urgent')`),
    )
    // api, whatsapp_campaign, whatsapp_chat ...: free text, so new channels need no migration.
    .addColumn('source', 'text', (c) => c.notNull().defaultTo('api'))
    .addColumn('estimated_value', sql`numeric(14, 2)`, (c) => c.check(sql`estimated_value >= 0`))
    .addColumn('probability', 'integer', (c) => c.check(sql`probability between 0 and 100`))
    .addColumn('lead_score', 'integer', (c) =>
      c
        .notNull()
        .defaultTo(0)
        .check(sql`lead_score between 0 and 100`),
    )
    .addColumn('assigned_to', 'text')
    .addColumn('next_follow_up_at', 'timestamptz')
    .addColumn('follow_up_message', 'text')
    .addColumn('follow_up_template_id', 'integer', (c) => c.references('templates.id').onDelete('set null'))
    .addColumn('last_contacted_at', 'timestamptz')
    .addColumn('last_follow_up_at', 'timestamptz')
    .addColumn('last_reply_at', 'timestamptz')
    .addColumn('overdue_since', 'timestamptz')
    .addColumn('converted_at', 'timestamptz')
    .addColumn('closed_at', 'timestamptz')
    .addColumn('lost_reason', 'text')
    .addColumn('created_by', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('leads_status_idx').on('leads').column('status').execute();
  await db.schema.createIndex('leads_assigned_to_idx').on('leads').column('assigned_to').execute();
  await sql`create index leads_next_follow_up_idx on leads (next_follow_up_at) where status not in ('won', 'lost')`.execute(db);
  await sql`create unique index leads_one_open_per_contact on leads (contact_id) where status not in ('won', 'lost')`.execute(db);

  await db.schema
    .createTable('lead_activities')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('lead_id', 'integer', (c) => c.notNull().references('leads.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('metadata', 'jsonb')
    .addColumn('actor', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('lead_activities_lead_idx').on('lead_activities').columns(['lead_id', 'id']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('lead_activities').execute();
  await db.schema.dropTable('leads').execute();
}
