import { DEFAULT_WORKFLOW_IDS, workflowIds } from '../../src/temporal/workflow-ids';

test('without a prefix every id is exactly what running workflows and Schedules already have', () => {
  for (const ids of [workflowIds(), workflowIds(''), DEFAULT_WORKFLOW_IDS]) {
    expect(ids.prefix).toBe('');
    expect(ids.chat('919876543210')).toBe('chat-919876543210');
    expect(ids.campaignSchedule(42)).toBe('campaign-42');
    expect(ids.campaignWorkflowPrefix(42)).toBe('campaign-42');
    expect(ids.leadFollowUp(7)).toBe('lead-followup-7');
    expect(ids.leadSweepSchedule).toBe('lead-overdue-sweep');
    expect(ids.leadSweepWorkflow).toBe('lead-overdue-sweep');
    expect(ids.webhookLogRetentionSchedule).toBe('webhook-log-retention');
    expect(ids.webhookLogRetentionWorkflow).toBe('webhook-log-retention');
  }
});

test('a prefix goes in front of every id', () => {
  const ids = workflowIds('eu-2.');
  expect(ids.chat('919876543210')).toBe('eu-2.chat-919876543210');
  expect(ids.campaignSchedule(42)).toBe('eu-2.campaign-42');
  expect(ids.campaignWorkflowPrefix(42)).toBe('eu-2.campaign-42');
  expect(ids.leadFollowUp(7)).toBe('eu-2.lead-followup-7');
  expect(ids.leadSweepSchedule).toBe('eu-2.lead-overdue-sweep');
  expect(ids.leadSweepWorkflow).toBe('eu-2.lead-overdue-sweep');
  expect(ids.webhookLogRetentionSchedule).toBe('eu-2.webhook-log-retention');
  expect(ids.webhookLogRetentionWorkflow).toBe('eu-2.webhook-log-retention');
});

test('a prefix TEMPORAL_ID_PREFIX would refuse is refused here too', () => {
  expect(() => workflowIds('has space')).toThrow(/letters, digits/);
  expect(() => workflowIds('x'.repeat(41))).toThrow(/up to 40/);
});
