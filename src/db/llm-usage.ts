import { sql } from 'kysely';
import type { Db } from './database';
import { inRange, type TimeRange } from './analytics-bursts';

export interface LlmCallRecord {
  /** workflowId:runId:activityId:attempt, so a re-run of one attempt records nothing new. */
  callKey: string;
  waId: string;
  /** The chat's business number; absent: the default number. */
  numberId?: number;
  /** The AI configuration version that answered; absent: the environment's settings. */
  ai?: { id: number; version: number };
  model: string;
  outcome: 'reply' | 'handoff' | 'error';
  promptTokens?: number;
  completionTokens?: number;
  latencyMs: number;
}

/** One row per call attempt; the conversation is found by wa_id (null before its first record). */
export async function recordLlmCall(db: Db, r: LlmCallRecord): Promise<void> {
  await db
    .insertInto('llm_usage')
    .values((eb) => ({
      call_key: r.callKey,
      conversation_id: eb
        .selectFrom('conversations')
        .select('id')
        .where('number_id', '=', r.numberId ?? 1)
        .where('wa_id', '=', r.waId),
      wa_id: r.waId,
      number_id: r.numberId ?? 1,
      ai_configuration_id: r.ai?.id ?? null,
      ai_configuration_version: r.ai?.version ?? null,
      model: r.model,
      prompt_tokens: r.promptTokens ?? 0,
      completion_tokens: r.completionTokens ?? 0,
      latency_ms: Math.max(0, Math.round(r.latencyMs)),
      outcome: r.outcome,
    }))
    .onConflict((oc) => oc.column('call_key').doNothing())
    .execute();
}

export interface ModelUsage {
  model: string;
  calls: number;
  replies: number;
  handoffs: number;
  errors: number;
  promptTokens: number;
  completionTokens: number;
  /** Over all calls, failed ones included (a timeout is the slowest call of all). */
  averageLatencyMs: number | null;
}

/** Calls and tokens per model over [start, end), most used first. */
export async function llmUsageByModel(db: Db, range: TimeRange): Promise<ModelUsage[]> {
  const rows = await db
    .selectFrom('llm_usage')
    .select([
      'model',
      sql<string>`count(*)`.as('calls'),
      sql<string>`count(*) filter (where outcome = 'reply')`.as('replies'),
      sql<string>`count(*) filter (where outcome = 'handoff')`.as('handoffs'),
      sql<string>`count(*) filter (where outcome = 'error')`.as('errors'),
      sql<string>`coalesce(sum(prompt_tokens), 0)`.as('prompt_tokens'),
      sql<string>`coalesce(sum(completion_tokens), 0)`.as('completion_tokens'),
      sql<number | null>`avg(latency_ms)::float8`.as('latency'),
    ])
    .where(inRange('created_at', range))
    .groupBy('model')
    .orderBy(sql`count(*)`, 'desc')
    .orderBy('model')
    .execute();
  return rows.map((r) => ({
    model: r.model,
    calls: Number(r.calls),
    replies: Number(r.replies),
    handoffs: Number(r.handoffs),
    errors: Number(r.errors),
    promptTokens: Number(r.prompt_tokens),
    completionTokens: Number(r.completion_tokens),
    averageLatencyMs: r.latency === null ? null : Math.round(r.latency),
  }));
}
