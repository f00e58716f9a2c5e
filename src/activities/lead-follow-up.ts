import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure as CommonFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { TemplateContent } from '../channels/types';
import type { Db } from '../db/database';
import { templateParameters, renderTemplate, TemplateRenderError } from '../templates/render';
import type { chatWorkflow } from '../workflows/chat';
import {
  CHAT_WORKFLOW_TYPE,
  OPERATOR_HOLDS_CHAT,
  WINDOW_CLOSED,
  chatWorkflowId,
  followUpUpdate,
} from '../workflows/definitions';
import type { LeadFollowUpEnding } from '../workflows/lead-definitions';
import { chatModeKey, needsHumanKey, whatsAppPhoneKey } from '../workflows/search-attributes';
import { contactVariables } from './campaign-content';
import type { ActivityDeps } from './index';

export type DeliverFollowUpResult =
  | { result: 'sent'; wamid: string; kind: 'text' | 'template' }
  | { result: 'postponed' }
  | { result: 'undeliverable'; reason: string }
  | { result: 'closed'; ending: Exclude<LeadFollowUpEnding, 'replied'> };

/** Writes one timeline entry; `key` makes a retried activity write it once. */
export async function addLeadActivity(db: Db, leadId: number, type: string, description: string, metadata: Record<string, unknown> = {}, key?: string) {
  const meta = JSON.stringify(key ? { ...metadata, key } : metadata);
  await sql`
    insert into lead_activities (lead_id, type, description, metadata, actor)
    select ${leadId}, ${type}, ${description}, ${meta}::jsonb, 'follow-up workflow'
    where exists (select 1 from leads where id = ${leadId})
      and (${key ?? null}::text is null or not exists (
        select 1 from lead_activities where lead_id = ${leadId} and metadata->>'key' = ${key ?? null}::text))`.execute(db);
}

const defaultFollowUp = (firstName: string | null, title: string) =>
  `Hi${firstName ? ` ${firstName}` : ''}, just following up on ${title}. Is there anything we can help you with?`;

export function createLeadFollowUpActivities({ db, temporal, settings }: Pick<ActivityDeps, 'db' | 'temporal' | 'settings'>) {
  return {
    async recordLeadEvent({ leadId, type, description }: { leadId: number; type: string; description: string }): Promise<void> {
      await addLeadActivity(db, leadId, type, description);
    },

    /** Sends the lead's follow-up through its chat (the chat decides text or template). */
    async deliverLeadFollowUp({ leadId, updateId }: { leadId: number; updateId: string }): Promise<DeliverFollowUpResult> {
      const lead = await db.selectFrom('leads').selectAll().where('id', '=', leadId).executeTakeFirst();
      if (!lead) return { result: 'closed', ending: 'deleted' };
      if (lead.status === 'won' || lead.status === 'lost') return { result: 'closed', ending: lead.status };
      const member = await db
        .selectFrom('contacts')
        .innerJoin('contact_phone_numbers as p', (j) => j.onRef('p.contact_id', '=', 'contacts.id').on('p.is_primary', '=', true))
        .leftJoin('conversations as c', 'c.wa_id', 'p.wa_id')
        .select(['contacts.id as contact_id', 'p.wa_id', 'p.phone_number', 'contacts.first_name', 'contacts.last_name', 'contacts.email', 'contacts.company', 'contacts.job_title', 'contacts.attributes', 'c.last_inbound_at'])
        .where('contacts.id', '=', lead.contact_id)
        .executeTakeFirst();
      const undeliverable = async (reason: string) => {
        await addLeadActivity(db, leadId, 'follow_up_cancelled', `Follow-up not sent: ${reason}`, {}, `${updateId}:undeliverable`);
        return { result: 'undeliverable' as const, reason };
      };
      if (!member) return undeliverable('the contact has no phone number');

      const text = lead.follow_up_message?.trim() || defaultFollowUp(member.first_name, lead.title);
      let template: TemplateContent | undefined;
      if (lead.follow_up_template_id) {
        const t = await db.selectFrom('templates').selectAll().where('id', '=', lead.follow_up_template_id).executeTakeFirst();
        if (t?.status === 'APPROVED') {
          try {
            const vars = contactVariables(member, {});
            template = { name: t.name, language: t.language, parameters: templateParameters(t.body, vars), text: renderTemplate(t.body, vars) };
          } catch (err) {
            if (!(err instanceof TemplateRenderError)) throw err;
          }
        }
      }

      let sent: { wamid: string; kind: 'text' | 'template' };
      try {
        sent = await temporal.workflow.executeUpdateWithStart(followUpUpdate, {
          args: [{ text, template, leadId }],
          updateId,
          startWorkflowOperation: new WithStartWorkflowOperation<typeof chatWorkflow>(CHAT_WORKFLOW_TYPE, {
            workflowId: chatWorkflowId(member.wa_id),
            taskQueue: Context.current().info.taskQueue,
            args: [{ waId: member.wa_id }],
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: [
              { key: whatsAppPhoneKey, value: member.wa_id },
              { key: chatModeKey, value: 'bot' },
              { key: needsHumanKey, value: false },
            ],
          }),
        });
      } catch (err) {
        const cause = err instanceof WorkflowUpdateFailedError && err.cause instanceof CommonFailure ? err.cause : undefined;
        if (cause?.type === OPERATOR_HOLDS_CHAT) {
          await addLeadActivity(db, leadId, 'follow_up_postponed', 'Follow-up postponed: an operator holds the chat', {}, `${updateId}:postponed:${Math.floor(Date.now() / settings.leadFollowUpPostponeMs)}`);
          return { result: 'postponed' };
        }
        if (cause?.type === WINDOW_CLOSED) return undeliverable('outside the 24-hour window and no approved template to send instead');
        if (cause) return undeliverable(cause.message);
        throw err;
      }
      const now = new Date();
      await db.transaction().execute(async (trx) => {
        await trx
          .updateTable('leads')
          .set({
            last_follow_up_at: now,
            last_contacted_at: now,
            next_follow_up_at: null,
            overdue_since: null,
            status: sql`case when status = 'new' then 'contacted' else status end`,
            updated_at: now,
          })
          .where('id', '=', leadId)
          .execute();
      });
      await addLeadActivity(db, leadId, 'follow_up_sent', `Follow-up sent as ${sent.kind}`, { wamid: sent.wamid, kind: sent.kind }, updateId);
      return { result: 'sent', ...sent };
    },

    /**
     * Flags open leads whose follow-up went unanswered, or was due and never went out, for
     * longer than LEAD_OVERDUE_AFTER_MS. Flagged leads make up the overdue list.
     */
    async flagOverdueLeads(): Promise<{ flagged: number }> {
      const cutoff = new Date(Date.now() - settings.leadOverdueAfterMs);
      const flagged = await db
        .updateTable('leads')
        .set({ overdue_since: new Date(), updated_at: new Date() })
        .where('status', 'not in', ['won', 'lost'])
        .where('overdue_since', 'is', null)
        .where((eb) =>
          eb.or([
            eb.and([
              eb('last_follow_up_at', '<', cutoff),
              eb.or([eb('last_reply_at', 'is', null), eb('last_reply_at', '<', eb.ref('last_follow_up_at'))]),
            ]),
            eb('next_follow_up_at', '<', cutoff),
          ]),
        )
        .returning(['id', 'last_follow_up_at', 'next_follow_up_at'])
        .execute();
      for (const lead of flagged) {
        const why = lead.next_follow_up_at && lead.next_follow_up_at < cutoff ? 'a follow-up was due and never sent' : 'the last follow-up went unanswered';
        await addLeadActivity(db, lead.id, 'overdue', `Overdue: ${why}`);
      }
      return { flagged: flagged.length };
    },
  };
}
