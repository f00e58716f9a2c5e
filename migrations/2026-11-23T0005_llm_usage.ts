import { sql, type Kysely } from 'kysely';

/**
 * One row per LLM call attempt that reached the model (seed 000/002 analytics: usage and cost per
 * model): answered (reply, handoff) or failed (error, no tokens). Keyed by the activity attempt
 * that made the call, so a re-run of an attempt that already recorded adds nothing. Cost is not
 * stored: it is tokens times the configured price, computed when asked.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('llm_usage')
    .addColumn('id', 'bigserial', (c) => c.primaryKey())
    .addColumn('call_key', 'text', (c) => c.notNull().unique())
    .addColumn('conversation_id', 'uuid', (c) => c.references('conversations.id').onDelete('set null'))
    .addColumn('wa_id', 'text')
    .addColumn('model', 'text', (c) => c.notNull())
    .addColumn('prompt_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('completion_tokens', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('latency_ms', 'integer')
    .addColumn('outcome', 'text', (c) =>
      c
        .notNull()
        .defaultTo('reply')
        .check(sql`outcome in ('reply', 'handoff', 'error')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('llm_usage_created_at').on('llm_usage').columns(['created_at', 'model']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('llm_usage').execute();
}
