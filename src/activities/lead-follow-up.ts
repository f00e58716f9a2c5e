import { Context } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure as CommonFailure } from '@temporalio/common';
import { sql } from 'kysely';
import type { TemplateContent } from '../channels/types';
import { memberOfContact } from '../db/campaign-audience';
import { recordLeadActivityOnce } from '../db/leads';
import type { LeadActivityType } from '../db/schema';
import { idsOf } from '../temporal/workflow-ids';
import { templateParameters, renderTemplate, TemplateRenderError } from '../templates/render';
import type { chatWorkflow } from '../workflows/chat';
import { CHAT_WORKFLOW_TYPE, OPERATOR_HOLDS_CHAT, USER_WROTE_SINCE, WINDOW_CLOSED, followUpUpdate } from '../workflows/definitions';
import type { LeadFollowUpEnding } from '../workflows/lead-definitions';
import { chatArgs, chatStartAttributes } from '../temporal/chat-signals';
import { numbersOf } from '../numbers/registry';
import { contactVariables } from './campaign-content';
import type { ActivityDeps } from './index';

export type DeliverFollowUpResult =
  | { result: 'sent'; wamid: string; kind: 'text' | 'template' }
  | { result: 'postponed' }
  | { result: 'undeliverable'; reason: string }
  | { result: 'closed'; ending: LeadFollowUpEnding };

const defaultFollowUp = (firstName: string | null, title: string) =>
  `Hi${firstName ? ` ${firstName}` : ''}, just following up on ${title}. Is there anything we can help you with?`;

export function createLeadFollowUpActivities(deps: Pick<ActivityDeps, 'db' | 'temporal' | 'settings' | 'ids' | 'numbers' | 'whatsapp'>) {
  const { db, temporal, settings } = deps;
  const ids = idsOf(deps);
  const numbers = numbersOf(deps);
  return {
    async recordLeadEvent({ leadId, type, description }: { leadId: number; type: LeadActivityType; description: string }): Promise<void> {
      await recordLeadActivityOnce(db, leadId, type, description, { actor: 'follow-up workflow' });
    },

    /** Sends the lead's follow-up through its chat (the chat decides text or template). */
    async deliverLeadFollowUp({
      leadId,
      updateId,
      notIfInboundSince,
    }: {
      leadId: number;
      updateId: string;
      notIfInboundSince?: number;
    }): Promise<DeliverFollowUpResult> {
      const lead = await db.selectFrom('leads').selectAll().where('id', '=', leadId).executeTakeFirst();
      if (!lead) return { result: 'closed', ending: 'deleted' };
      if (lead.status === 'won' || lead.status === 'lost') return { result: 'closed', ending: lead.status };
      // The lead's number sends (issue 13): the chat with it is where the follow-up belongs.
      const member = await memberOfContact(db, lead.contact_id, lead.number_id);
      const undeliverable = async (reason: string) => {
        await recordLeadActivityOnce(db, leadId, 'follow_up_cancelled', `Follow-up not sent: ${reason}`, {
          key: `${updateId}:undeliverable`,
          actor: 'follow-up workflow',
        });
        return { result: 'undeliverable' as const, reason };
      };
      if (!member) return undeliverable('the contact has no phone number');
      const number = await numbers.byId(lead.number_id);
      if (!number?.enabled) return undeliverable(`the lead's business number ${lead.number_id} is disabled or gone`);

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
          args: [{ text, template, leadId, notIfInboundSince }],
          updateId,
          startWorkflowOperation: new WithStartWorkflowOperation<typeof chatWorkflow>(CHAT_WORKFLOW_TYPE, {
            workflowId: ids.chat(member.wa_id, number.id),
            taskQueue: Context.current().info.taskQueue,
            args: [chatArgs(member.wa_id, number)],
            workflowIdConflictPolicy: 'USE_EXISTING',
            typedSearchAttributes: chatStartAttributes(member.wa_id, number),
          }),
        });
      } catch (err) {
        const cause = err instanceof WorkflowUpdateFailedError && err.cause instanceof CommonFailure ? err.cause : undefined;
        if (cause?.type === OPERATOR_HOLDS_CHAT) {
          await recordLeadActivityOnce(db, leadId, 'follow_up_postponed', 'Follow-up postponed: an operator holds the chat', {
            key: `${updateId}:postponed:${Math.floor(Date.now() / settings.leadFollowUpPostponeMs)}`,
            actor: 'follow-up workflow',
          });
          return { result: 'postponed' };
        }
        if (cause?.type === USER_WROTE_SINCE) return { result: 'closed', ending: 'replied' };
        if (cause?.type === WINDOW_CLOSED) return undeliverable('outside the 24-hour window and no approved template to send instead');
        if (cause) return undeliverable(cause.message);
        throw err;
      }
      const now = new Date();
      const before = await db
        .updateTable('leads')
        .set({
          last_follow_up_at: now,
          last_contacted_at: now,
          overdue_since: null,
          status: sql`case when status = 'new' then 'contacted' else status end`,
          // Cleared only if nobody moved it to a later time meanwhile.
          next_follow_up_at: sql`case when next_follow_up_at <= ${now} then null else next_follow_up_at end`,
          updated_at: now,
        })
        .where('id', '=', leadId)
        .returning(sql<string>`(select status from leads l where l.id = leads.id)`.as('old_status'))
        .executeTakeFirst();
      await recordLeadActivityOnce(db, leadId, 'follow_up_sent', `Follow-up sent as ${sent.kind}`, {
        key: updateId,
        metadata: { wamid: sent.wamid, kind: sent.kind },
        actor: 'follow-up workflow',
      });
      if (before?.old_status === 'new') {
        await recordLeadActivityOnce(db, leadId, 'status_changed', 'Status new → contacted (follow-up sent)', {
          key: `${updateId}:contacted`,
          metadata: { from: 'new', to: 'contacted' },
          actor: 'follow-up workflow',
        });
      }
      return { result: 'sent', ...sent };
    },

    /**
     * Flags open leads whose follow-up went unanswered, or was due and never went out, for
     * longer than LEAD_OVERDUE_AFTER_MS. Flagged leads make up the overdue list.
     */
    async flagOverdueLeads(): Promise<{ flagged: number }> {
      const cutoff = new Date(Date.now() - settings.leadOverdueAfterMs);
      // One statement: the flag and its timeline entry are written together or not at all.
      // A reply's time is WhatsApp's, in whole seconds: a reply in the same second as the
      // follow-up counts as an answer to it (comparing at that resolution, not ours).
      const { rows } = await sql<{ id: number }>`
        with flagged as (
          update leads set overdue_since = now(), updated_at = now()
          where status not in ('won', 'lost') and overdue_since is null
            and ((last_follow_up_at < ${cutoff} and (last_reply_at is null or last_reply_at < date_trunc('second', last_follow_up_at)))
                 or next_follow_up_at < ${cutoff})
          returning id, next_follow_up_at
        )
        insert into lead_activities (lead_id, type, description, metadata, actor)
        select id, 'overdue',
          case when next_follow_up_at < ${cutoff} then 'Overdue: a follow-up was due and never sent'
               else 'Overdue: the last follow-up went unanswered' end,
          '{}'::jsonb, 'overdue sweep'
        from flagged
        returning lead_id as id`.execute(db);
      return { flagged: rows.length };
    },
  };
}
